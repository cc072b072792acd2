#!/usr/bin/env bash
# Assembles the real photo folder: the photographs (not diagrams, test charts or renders) that
# Debian's opencv-doc and python3-skimage install, copied (or un-gzipped) into one folder of
# JPEG/PNG files. Dataset examples and caricatures of real models use it by default
# (docs/techniques.md); scripts/install-deps.sh installs both packages.
#   scripts/photos.sh OUTDIR
set -euo pipefail
out="${1:?usage: scripts/photos.sh OUTDIR}"
opencv=/usr/share/doc/opencv-doc/examples/data
skimage=/usr/lib/python3/dist-packages/skimage/data
photos=(
  "$opencv"/{aero1.jpg,aero3.jpg,aloeL.jpg,apple.jpg,baboon.jpg,basketball1.png,box_in_scene.png,building.jpg}
  "$opencv"/{butterfly.jpg,chicky_512.png,ela_original.jpg,fruits.jpg,graf1.png,home.jpg,leuvenA.jpg}
  "$opencv"/{leuvenB.jpg,licenseplate_motion.jpg,messi5.jpg,orange.jpg,rubberwhale1.png,smarties.png}
  "$opencv"/{squirrel_cls.jpg,starry_night.jpg,stuff.jpg}
  "$skimage"/{astronaut.png,chelsea.png,coffee.png,motorcycle_left.png,rocket.jpg,retina.jpg,hubble_deep_field.jpg}
  "$skimage"/{ihc.png,camera.png,coins.png,moon.png}
)
mkdir -p "$out"
count=0
for p in "${photos[@]}"; do
  name="$(basename "$p")"
  if [[ -f "$p" ]]; then cp "$p" "$out/$name"
  elif [[ -f "$p.gz" ]]; then gzip -dc "$p.gz" > "$out/$name"
  else echo "photos: $p not found (skipped)" >&2; continue
  fi
  count=$((count + 1))
done
((count >= 20)) || { echo "photos: only $count photographs found; install opencv-doc and python3-skimage (scripts/install-deps.sh)" >&2; exit 1; }
echo "$count photographs in $out"
