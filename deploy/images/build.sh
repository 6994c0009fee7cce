#!/usr/bin/env bash
# Builds the weir and weir-notebook container images (deploy/images/*.Containerfile).
#
#   deploy/images/build.sh [options]
#
# Options:
#   --binary PATH          use this weir binary (e.g. target/debug/weir) instead of building
#                          `cargo build --release -p weir-cli`; a stripped copy goes in the image
#   --engine NAME          podman | buildah | docker (default: $WEIR_IMAGE_ENGINE, else the first
#                          of podman, buildah, docker found; docker only with a running engine)
#   --local-base           no registry: build debian:bookworm-slim locally with debootstrap
#                          (--variant=minbase, from deb.debian.org) and import it under that name,
#                          unless the engine already has it; the rootfs tarball is cached in
#                          target/images/ (--refresh-base builds it again)
#   --network MODE         network of the RUN steps (apt-get, pip), e.g. host
#                          (default: $WEIR_BUILD_NETWORK, else the engine's default)
#   --runtime NAME         OCI runtime of the RUN steps for podman/buildah, e.g. runc
#                          (default: $WEIR_BUILD_RUNTIME, else the engine's default)
#   --build-ca FILE        a CA bundle for pip in the RUN steps, for builds behind a
#                          TLS-intercepting proxy (podman/buildah: mounted read-only for the build
#                          only, never stored in the image; default: $WEIR_BUILD_CA)
#   --version VERSION      image tag (default: `weir --version` of the binary)
#   --jupyterlab VERSION   JupyterLab version pinned in the notebook image (default: the
#                          Containerfile's)
#   --no-notebook          build only the weir image
#   -h, --help
#
# Tags: weir:VERSION, weir:latest, weir-notebook:VERSION, weir-notebook:latest.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$repo/target/images

binary=""
engine=${WEIR_IMAGE_ENGINE:-}
local_base=false
refresh_base=false
network=${WEIR_BUILD_NETWORK:-}
runtime=${WEIR_BUILD_RUNTIME:-}
build_ca=${WEIR_BUILD_CA:-}
version=""
jupyterlab=""
notebook=true

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=$2; shift 2 ;;
    --binary=*) binary=${1#*=}; shift ;;
    --engine) engine=$2; shift 2 ;;
    --engine=*) engine=${1#*=}; shift ;;
    --local-base) local_base=true; shift ;;
    --refresh-base) local_base=true; refresh_base=true; shift ;;
    --network) network=$2; shift 2 ;;
    --network=*) network=${1#*=}; shift ;;
    --runtime) runtime=$2; shift 2 ;;
    --runtime=*) runtime=${1#*=}; shift ;;
    --build-ca) build_ca=$2; shift 2 ;;
    --build-ca=*) build_ca=${1#*=}; shift ;;
    --version) version=$2; shift 2 ;;
    --version=*) version=${1#*=}; shift ;;
    --jupyterlab) jupyterlab=$2; shift 2 ;;
    --jupyterlab=*) jupyterlab=${1#*=}; shift ;;
    --no-notebook) notebook=false; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

log() { echo "== $*" >&2; }
now() { date +%s; }
took() { echo "$(( $(now) - $1 ))s"; }
t_all=$(now)

# --- engine ---------------------------------------------------------------------------
if [ -z "$engine" ]; then
  if command -v podman >/dev/null; then engine=podman
  elif command -v buildah >/dev/null; then engine=buildah
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=docker
  else echo "build.sh: no podman, buildah or running docker found" >&2; exit 1
  fi
fi
case $engine in podman|buildah|docker) ;; *) echo "build.sh: unknown engine $engine" >&2; exit 2 ;; esac
command -v "$engine" >/dev/null || { echo "build.sh: $engine not found" >&2; exit 1; }

build_opts=()
[ -n "$network" ] && build_opts+=(--network "$network")
if [ -n "$runtime" ]; then
  [ "$engine" = docker ] && { echo "build.sh: --runtime is for podman/buildah" >&2; exit 2; }
  build_opts+=(--runtime "$runtime")
fi
# Images the engine holds, whatever their short name (podman/buildah store `weir:1` as localhost/weir:1).
image_exists() {
  case $engine in
    podman) podman image exists "$1" ;;
    buildah) buildah inspect --type image "$1" >/dev/null 2>&1 ;;
    docker) docker image inspect "$1" >/dev/null 2>&1 ;;
  esac
}
build() { # build CONTAINERFILE CONTEXT TAG [extra build args]
  local file=$1 ctx=$2 tag=$3; shift 3
  case $engine in
    podman) podman build "${build_opts[@]}" -f "$file" -t "$tag" "$@" "$ctx" ;;
    buildah) buildah bud "${build_opts[@]}" -f "$file" -t "$tag" "$@" "$ctx" ;;
    docker) docker build "${build_opts[@]}" -f "$file" -t "$tag" "$@" "$ctx" ;;
  esac
}
tag() { "$engine" tag "$1" "$2"; }

# --- binary ---------------------------------------------------------------------------
if [ -z "$binary" ]; then
  log "cargo build --release -p weir-cli"
  t=$(now)
  cargo build --release --manifest-path "$repo/Cargo.toml" -p weir-cli
  binary=$repo/target/release/weir
  log "release build took $(took "$t")"
fi
[ -x "$binary" ] || { echo "build.sh: $binary is not an executable file" >&2; exit 1; }
if [ -z "$version" ]; then
  version=$("$binary" --version 2>/dev/null | awk '{print $2}') || true
  [ -n "$version" ] || version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
fi
[ -n "$version" ] || { echo "build.sh: cannot tell the version; pass --version" >&2; exit 1; }

mkdir -p "$work"
ctx_weir=$work/context-weir
ctx_nb=$work/context-notebook
rm -rf "$ctx_weir" "$ctx_nb"
mkdir -p "$ctx_weir" "$ctx_nb"
cp "$here/weir.Containerfile" "$ctx_weir/"
cp "$here/weir-notebook.Containerfile" "$here/notebook-entrypoint.sh" "$ctx_nb/"
if command -v strip >/dev/null && strip -o "$ctx_weir/weir" "$binary" 2>/dev/null; then
  log "binary: $binary ($(du -h "$binary" | cut -f1), stripped copy $(du -h "$ctx_weir/weir" | cut -f1))"
else
  cp "$binary" "$ctx_weir/weir"
  log "binary: $binary ($(du -h "$binary" | cut -f1), not stripped)"
fi
chmod 0755 "$ctx_weir/weir"
touch -d @0 "$ctx_weir/weir" # same content, same file: keeps the COPY layer cached across rebuilds

# --- local base image -----------------------------------------------------------------
base=debian:bookworm-slim
import_base() { # import_base TARBALL
  case $engine in
    podman) podman import --change 'CMD ["bash"]' "$1" "docker.io/library/$base" >/dev/null ;;
    docker) docker import --change 'CMD ["bash"]' "$1" "$base" >/dev/null ;;
    buildah)
      local c
      c=$(buildah from scratch)
      buildah add "$c" "$1" / >/dev/null
      buildah config --cmd bash "$c"
      buildah commit --rm "$c" "docker.io/library/$base" >/dev/null ;;
  esac
}
if $local_base; then
  tarball=$work/debian-bookworm-minbase.tar
  if $refresh_base || ! image_exists "$base"; then
    if $refresh_base || [ ! -s "$tarball" ]; then
      command -v debootstrap >/dev/null || { echo "build.sh: --local-base needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
      log "debootstrap --variant=minbase bookworm (cached as $tarball)"
      t=$(now)
      rootfs=$work/rootfs.tmp
      rm -rf "$rootfs"
      debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
      # What debian:bookworm-slim does: no docs, man pages or locales, the three suites, no caches.
      cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
      cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
      echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
      rm -f "$rootfs/etc/apt/sources.list"
      cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
      find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
      find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
      rm -rf "${rootfs:?}"/usr/share/{man,info,groff,lintian,linda}/* "${rootfs:?}"/usr/share/locale/* \
        "${rootfs:?}"/var/lib/apt/lists/* "${rootfs:?}"/var/cache/apt/*.bin "${rootfs:?}"/var/cache/apt/archives/*.deb \
        "${rootfs:?}"/var/log/*.log "${rootfs:?}"/var/log/apt/* "${rootfs:?}"/tmp/* "${rootfs:?}"/dev/*
      : >"$rootfs/etc/resolv.conf"
      : >"$rootfs/etc/machine-id"
      echo localhost >"$rootfs/etc/hostname"
      tar --numeric-owner --xattrs -C "$rootfs" -cf "$tarball.tmp" .
      mv "$tarball.tmp" "$tarball"
      rm -rf "$rootfs"
      log "local base rootfs: $(du -h "$tarball" | cut -f1), took $(took "$t")"
    fi
    log "importing $tarball as $base ($engine)"
    import_base "$tarball"
  else
    log "$base is already in $engine's storage"
  fi
fi

# --- images ---------------------------------------------------------------------------
t=$(now)
log "building weir:$version ($engine${network:+, network $network}${runtime:+, runtime $runtime})"
build "$ctx_weir/weir.Containerfile" "$ctx_weir" "weir:$version" \
  --build-arg WEIR_BINARY=weir --build-arg "WEIR_VERSION=$version"
tag "weir:$version" weir:latest
log "weir:$version built in $(took "$t")"
if $notebook; then
  t=$(now)
  log "building weir-notebook:$version"
  nb_args=(--build-arg "WEIR_IMAGE=weir:$version" --build-arg "WEIR_VERSION=$version")
  if [ -n "$build_ca" ]; then
    [ "$engine" = docker ] && { echo "build.sh: --build-ca is for podman/buildah" >&2; exit 2; }
    [ -r "$build_ca" ] || { echo "build.sh: cannot read $build_ca" >&2; exit 1; }
    nb_args+=(-v "$(readlink -f "$build_ca"):/run/weir-build-ca.pem:ro" --build-arg BUILD_CA_BUNDLE=/run/weir-build-ca.pem)
  fi
  [ -n "$jupyterlab" ] && nb_args+=(--build-arg "JUPYTERLAB_VERSION=$jupyterlab")
  build "$ctx_nb/weir-notebook.Containerfile" "$ctx_nb" "weir-notebook:$version" "${nb_args[@]}"
  tag "weir-notebook:$version" weir-notebook:latest
  log "weir-notebook:$version built in $(took "$t")"
fi

size() {
  local bytes=""
  case $engine in
    buildah) if command -v podman >/dev/null; then bytes=$(podman image inspect --format '{{.Size}}' "$1" 2>/dev/null || true); fi ;;
    *) bytes=$("$engine" image inspect --format '{{.Size}}' "$1" 2>/dev/null || true) ;;
  esac
  if [ -n "$bytes" ] && [ "$bytes" -gt 0 ] 2>/dev/null; then echo "$1 $bytes bytes ($((bytes / 1000000)) MB)"; else echo "$1"; fi
}
log "images (built in $(took "$t_all") in all):"
size "weir:$version" >&2
$notebook && size "weir-notebook:$version" >&2
echo "$version"
