#!/bin/sh
# Builds oci-gzip-zstd.tar: the image of legacy-two-layers.tar re-laid out the way Docker >= 25 saves an image
# under the containerd image store (OCI image layout + Docker's manifest.json), following image-spec v1.1
# (image-layout.md, manifest.md, config.md). Layer 1 is gzip, layer 2 is zstd, so both decoders are exercised.
# Usage: sh make-oci-fixture.sh   (needs tar, gzip, zstd, sha256sum; run from this directory)
set -eu
here=$(pwd)
w=$(mktemp -d /tmp/jm-archive-oci.XXXXXX)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/x" "$w/o/blobs/sha256"
tar -C "$w/x" -xf legacy-two-layers.tar
l1=$(tar -xOf legacy-two-layers.tar manifest.json | sed 's/.*"Layers":\["\([^"]*\)","\([^"]*\)".*/\1/')
l2=$(tar -xOf legacy-two-layers.tar manifest.json | sed 's/.*"Layers":\["\([^"]*\)","\([^"]*\)".*/\2/')
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { wc -c < "$1" | tr -d ' '; }
d1=$(sha "$w/x/$l1"); d2=$(sha "$w/x/$l2")
gzip -n -9 -c "$w/x/$l1" > "$w/l1"; zstd -q -19 -c "$w/x/$l2" > "$w/l2"
b1=$(sha "$w/l1"); b2=$(sha "$w/l2")
cp "$w/l1" "$w/o/blobs/sha256/$b1"; cp "$w/l2" "$w/o/blobs/sha256/$b2"
printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/true"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s","sha256:%s"]},"history":[{"created_by":"import"},{"created_by":"commit"}]}' \
  "$d1" "$d2" > "$w/config"
c=$(sha "$w/config"); cp "$w/config" "$w/o/blobs/sha256/$c"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s},{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"sha256:%s","size":%s}]}' \
  "$c" "$(size "$w/config")" "$b1" "$(size "$w/l1")" "$b2" "$(size "$w/l2")" > "$w/manifest"
m=$(sha "$w/manifest"); cp "$w/manifest" "$w/o/blobs/sha256/$m"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"docker.io/jmfixture/app:1","org.opencontainers.image.ref.name":"1"}}]}' \
  "$m" "$(size "$w/manifest")" > "$w/o/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$w/o/oci-layout"
printf '[{"Config":"blobs/sha256/%s","RepoTags":["jmfixture/app:1"],"Layers":["blobs/sha256/%s","blobs/sha256/%s"]}]' \
  "$c" "$b1" "$b2" > "$w/o/manifest.json"
# Docker 25 writes blobs first, then index.json, manifest.json, oci-layout.
tar --sort=name --mtime=1970-01-01T00:00:00Z --owner=0 --group=0 --numeric-owner -C "$w/o" \
  -cf "$here/oci-gzip-zstd.tar" blobs index.json manifest.json oci-layout
echo "diffIDs: sha256:$d1 sha256:$d2"
