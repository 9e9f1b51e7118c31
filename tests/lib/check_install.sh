#!/usr/bin/env bash
# check_install.sh BUILD_DIR SOURCE_DIR — `cmake --install` into a temporary
# prefix, then, as a user of the installed files would:
#  - build tests/lib/hello_hearth.c with `pkg-config --cflags --libs hearth`
#    (shared library) and with `pkg-config --static` against libhearth.a, and
#    check both generate what the installed `hearth run --temp 0` generates;
#  - run the installed `hearth chat` with no -m from another directory: it
#    must find the installed default model.
set -euo pipefail
build=$1 src=$2
cc=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "FAIL: $*"; exit 1; }

cmake --install "$build" --prefix "$prefix" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
libdir=$(cd "$(dirname "$(find "$prefix" -name hearth.pc | head -1)")/.." && pwd)
for f in bin/hearth include/hearth/hearth.h include/hearth/model.h share/hearth/hearth-default.gguf; do
    [ -e "$prefix/$f" ] || fail "$f not installed"
done
[ -e "$libdir/libhearth.a" ] || fail "libhearth.a not installed"
[ -e "$libdir/libhearth.so" ] || fail "libhearth.so not installed"
[ ! -e "$prefix/include/hearth/kernels.h" ] || fail "the internal kernels.h is installed"
# no public header includes cJSON (library users should not need it)
known_cjson=""
for h in "$prefix"/include/hearth/*.h; do
    # code only: one-line comments removed
    # (grep without -q reads all of its input: under pipefail, -q's early exit would fail the pipe)
    sed -e 's#/\*.*\*/##g' "$h" | grep -E '#include <cjson|cJSON \*' >/dev/null || continue
    case " $known_cjson " in *" $(basename "$h") "*) ;; *) fail "public header $(basename "$h") uses cJSON";; esac
done

export PKG_CONFIG_PATH=$libdir/pkgconfig
cflags=$(pkg-config --cflags hearth) || fail "pkg-config does not find hearth"
libs=$(pkg-config --libs hearth)
echo "pkg-config --cflags --libs hearth: $cflags $libs"
cp "$src/tests/lib/hello_hearth.c" "$tmp/"
cd "$tmp"
$cc -std=c11 -Wall -Werror -o hello_shared hello_hearth.c $cflags $libs -Wl,-rpath,"$libdir" \
    || fail "building against libhearth.so"
# static: the archive by name, then what pkg-config --static says it needs
static_libs=$(pkg-config --static --libs hearth | sed "s#-lhearth#$libdir/libhearth.a#")
$cc -std=c11 -Wall -Werror -o hello_static hello_hearth.c $cflags $static_libs \
    || fail "building against libhearth.a"
shared_deps=$(ldd hello_shared)
static_deps=$(ldd hello_static)
[[ $shared_deps == *"$libdir/libhearth.so"* ]] || { echo "$shared_deps"; fail "hello_shared does not use the installed libhearth.so"; }
if [[ $static_deps == *libhearth* ]]; then fail "hello_static is linked to a shared libhearth"; fi

model=$src/tests/data/models/licenses-llama-f16.gguf
prompt="GNU GENERAL PUBLIC LICENSE"
want=$("$prefix/bin/hearth" run -m "$model" -p "$prompt" -n 12 --temp 0)
[ -n "$want" ] || fail "the installed hearth run printed nothing"
got_shared=$(./hello_shared "$model" "$prompt" 12) || fail "hello_shared failed"
got_static=$(./hello_static "$model" "$prompt" 12) || fail "hello_static failed"
[ "$got_shared" = "$want" ] || fail "shared: '$got_shared', hearth run: '$want'"
[ "$got_static" = "$want" ] || fail "static: '$got_static', hearth run: '$want'"
echo "ok: programs built against the installed libhearth (shared and static) generate what hearth run does: '$want'"

# the installed command finds the installed default model, from anywhere
mkdir -p "$tmp/elsewhere" && cd "$tmp/elsewhere"
answer=$(printf 'Count from one to six.\n' | env -u HEARTH_MODEL "$prefix/bin/hearth" chat -n 24 --temp 0 2>"$tmp/chat.err") \
    || { cat "$tmp/chat.err"; fail "installed hearth chat with no -m"; }
case "$answer" in *"1, 2, 3"*) ;; *) fail "installed hearth chat answered '$answer'";; esac
echo "ok: the installed hearth chat (no -m, run from $tmp/elsewhere) answered: $answer"
