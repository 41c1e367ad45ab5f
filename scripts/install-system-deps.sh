#!/usr/bin/env bash
# Installs the Debian packages dysr builds and tests against, only those that are missing.
# Idempotent: with everything present it calls neither apt nor sudo.
set -euo pipefail

packages=(
  # FFmpeg 5.1 headers and libraries for ffmpeg-next, and bindgen's libclang
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev pkg-config clang libclang-dev
  # cpal's ALSA backend
  libasound2-dev
  # Vulkan (Mesa lavapipe where there is no GPU) for wgpu; a virtual display for the window
  mesa-vulkan-drivers libvulkan1 xvfb
  # the ffmpeg CLI: test media generation and the demo clip script
  ffmpeg
  # `script`, which gives a test a terminal on standard input
  bsdutils
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing system packages: ${missing[*]}"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
