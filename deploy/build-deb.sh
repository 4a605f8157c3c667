#!/usr/bin/env bash
# Builds the Debian packages, self-contained (the Swift runtime and Foundation linked statically), so that they
# install with apt on a Debian 12 server that has no Swift toolchain:
#   energy-monitor_<version>_<arch>.deb            energyd, energyctl, the systemd unit, sysusers.d, tmpfiles.d,
#                                                  logrotate, the example configuration (conffiles in /etc/energyd)
#   energy-monitor-metersim_<version>_<arch>.deb   metersim and its scenarios, for test benches
#
#   deploy/build-deb.sh [--debug] [--version V] [--out DIR]
#     --debug      package a debug build (links in seconds after `swift build`; the package test uses it) instead
#                  of a release build (the one to ship)
#     --version V  package version (default: EnergyMonitorRelease.version in Sources/EnergyModel/Product/Version.swift)
#     --out DIR    where the packages go (default: .build/deb)
#
# Needs dpkg-dev, binutils and help2man (deploy/install-deps.sh --test installs them); lintian checks the result:
# `lintian --profile debian .build/deb/*.deb` (deploy/README.md explains each warning that remains).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
configuration=release
compression=6
version=$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' "$root/Sources/EnergyModel/Product/Version.swift")
out="$root/.build/deb"
while [ $# -gt 0 ]; do
    case "$1" in
        --debug) configuration=debug; compression=1; shift ;;
        --version) version=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--debug] [--version V] [--out DIR]" >&2; exit 64 ;;
    esac
done
arch=$(dpkg --print-architecture)
maintainer="energy-monitor maintainers <energy-monitor@users.noreply.github.com>"
# The commit's time stamps the changelog and the manual pages, so that a build is reproducible.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}

# The Swift runtime statically; Foundation's static archives are named as one group, which SwiftPM leaves out when
# it relinks objects compiled for the shared runtime (without them the link misses CoreFoundation and ICU symbols).
link=(--static-swift-stdlib -Xlinker --start-group)
for library in Foundation FoundationEssentials FoundationInternationalization CoreFoundation _FoundationICU \
    _FoundationCShims _FoundationCollections swiftSynchronization; do
    link+=(-Xlinker "-l$library")
done
link+=(-Xlinker --end-group)
cd "$root"
for product in energyd energyctl metersim; do
    swift build -c "$configuration" --product "$product" "${link[@]}" 2>&1 | tail -n 1
done
bin=$(swift build -c "$configuration" --show-bin-path)
work=$(mktemp -d)
forget=()
if [ "$configuration" = debug ]; then
    # The three programs' own modules were just compiled for the static runtime, which SwiftPM does not notice when
    # the next plain `swift build` links them (it then asks for Foundation's static archives): have it plan them anew.
    forget=("$bin/energyd.build" "$bin/energyctl.build" "$bin/metersim.build" "$root/.build/debug.yaml")
fi
trap 'rm -rf "$work" "${forget[@]}"' EXIT
mkdir -p "$out"

# Dependencies from the binaries' shared libraries (dpkg-shlibdeps wants a debian/control to stand in).
depends() {
    mkdir -p "$work/shlibs/debian"
    printf 'Source: energy-monitor\n\nPackage: energy-monitor\nArchitecture: any\n' >"$work/shlibs/debian/control"
    (cd "$work/shlibs" && dpkg-shlibdeps -O "$@" 2>/dev/null) | sed -n 's/^shlibs:Depends=//p'
}

# Files common to both packages: binaries stripped, their manual pages (from --help), the copyright, the changelog,
# lintian's overrides.
stage() {
    local package=$1 stage=$work/$1
    shift
    install -d -m 0755 "$stage/DEBIAN" "$stage/usr/bin" "$stage/usr/share/doc/$package" "$stage/usr/share/man/man1" \
        "$stage/usr/share/lintian/overrides"
    for tool in "$@"; do
        install -m 0755 "$bin/$tool" "$stage/usr/bin/$tool"
        strip --strip-unneeded --remove-section=.comment --remove-section=.note "$stage/usr/bin/$tool"
        help2man --no-info --no-discard-stderr --version-string="$version" -n "part of energy-monitor (see /usr/share/doc/energy-monitor)" \
            "$stage/usr/bin/$tool" | gzip -9n >"$stage/usr/share/man/man1/$tool.1.gz"
    done
    install -m 0644 "$root/deploy/debian/$package.lintian-overrides" "$stage/usr/share/lintian/overrides/$package"
    install -m 0644 "$root/deploy/debian/copyright" "$stage/usr/share/doc/$package/copyright"
    {
        printf '%s (%s) stable; urgency=medium\n\n' "$package" "$version"
        printf '  * Built from %s.\n\n' "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo 'a source tree')"
        printf ' -- %s  %s\n' "$maintainer" "$(date -R -d "@$SOURCE_DATE_EPOCH")"
    } | gzip -9n >"$stage/usr/share/doc/$package/changelog.gz"
}

# Writes DEBIAN/control and builds the package.
build() {
    local package=$1 depends=$2 description=$3 stage=$work/$1
    local size
    size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
    cat >"$stage/DEBIAN/control" <<EOF
Package: $package
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $depends
Section: admin
Priority: optional
Homepage: https://github.com/energy-monitor/energy-monitor
Description: $description
EOF
    cat "$root/deploy/debian/$package.description" >>"$stage/DEBIAN/control"
    find "$stage" -type d -exec chmod 0755 {} +
    dpkg-deb --root-owner-group -Zxz -z"$compression" --build "$stage" "$out/${package}_${version}_${arch}.deb" >/dev/null
    echo "built $out/${package}_${version}_${arch}.deb"
}

# energy-monitor: the daemon, its tools, the unit and the example configuration.
package=energy-monitor
stage "$package" energyd energyctl
stage=$work/$package
install -d -m 0755 "$stage/lib/systemd/system" "$stage/usr/lib/sysusers.d" "$stage/usr/lib/tmpfiles.d" \
    "$stage/etc/logrotate.d" "$stage/etc/energyd/enterprises.d"
sed 's#/usr/local/bin#/usr/bin#g; s#file:///usr/local/share/doc/energy-monitor/README.md#file:///usr/share/doc/energy-monitor/README.md.gz#' \
    "$root/deploy/energyd.service" >"$stage/lib/systemd/system/energyd.service"
chmod 0644 "$stage/lib/systemd/system/energyd.service"
install -m 0644 "$root/deploy/energyd.sysusers" "$stage/usr/lib/sysusers.d/energyd.conf"
install -m 0644 "$root/deploy/energyd.tmpfiles" "$stage/usr/lib/tmpfiles.d/energyd.conf"
install -m 0644 "$root/deploy/energyd.logrotate" "$stage/etc/logrotate.d/energyd"
install -m 0644 "$root/Config/energyd.toml" "$root/Config/quotas.toml" "$stage/etc/energyd/"
install -m 0644 "$root"/Config/enterprises.d/*.toml "$stage/etc/energyd/enterprises.d/"
gzip -9n <"$root/README.md" >"$stage/usr/share/doc/$package/README.md.gz"
gzip -9n <"$root/deploy/README.md" >"$stage/usr/share/doc/$package/deploy.md.gz"
(cd "$stage" && find etc -type f | sed 's#^#/#' | sort) >"$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
    install -m 0755 "$root/deploy/debian/$package.$script" "$stage/DEBIAN/$script"
done
# tzdata: the district's time zone (Asia/Shanghai) is read from /usr/share/zoneinfo; systemd: the unit, sysusers.d
# and tmpfiles.d; init-system-helpers: deb-systemd-helper and deb-systemd-invoke in the maintainer scripts; procps:
# the unit's ExecReload (/bin/kill).
build "$package" \
    "$(depends -e"$stage/usr/bin/energyd" -e"$stage/usr/bin/energyctl"), tzdata, systemd, init-system-helpers (>= 1.54), procps" \
    "online energy-consumption monitoring (能耗在线监测) of key energy consumers"

# energy-monitor-metersim: the simulator and its scenarios, laid out as in the source tree (a scenario names its
# configuration by a path relative to itself).
package=energy-monitor-metersim
stage "$package" metersim
stage=$work/$package
share=$stage/usr/share/$package
install -d -m 0755 "$share/Simulator/Scenarios" "$share/Config/enterprises.d"
install -m 0644 "$root"/Simulator/Scenarios/*.toml "$share/Simulator/Scenarios/"
install -m 0644 "$root/Config/energyd.toml" "$root/Config/quotas.toml" "$share/Config/"
install -m 0644 "$root"/Config/enterprises.d/*.toml "$share/Config/enterprises.d/"
build "$package" "$(depends -e"$stage/usr/bin/metersim"), tzdata" \
    "meter simulator for energy-monitor test benches"
