#!/usr/bin/env bash
# check_symbols.sh SO A INCLUDE_DIR CC — libhearth exports exactly its public API:
#  1. every symbol libhearth.so exports, and every global symbol the static
#     libhearth.a defines, starts with hearth_ (so hearth links beside ggml,
#     llama.cpp or anything else: no internal name can clash);
#  2. every function declared in include/hearth/*.h is exported by the .so and
#     defined globally in the .a (a header whose declarations are not between
#     HEARTH_API_BEGIN and HEARTH_API_END would be hidden).
set -uo pipefail
so=$1 a=$2 inc=$3 cc=${4:-cc}
fail=0
# symbols the linker itself defines in every shared object
linker_syms='^(_init|_fini|_edata|_end|__bss_start)$'

so_syms=$(nm -D --defined-only "$so" | awk 'NF==3 && $2 ~ /[A-Z]/ {print $3}' | sed 's/@.*//' | sort -u)
a_syms=$(nm -g --defined-only "$a" 2>/dev/null | awk 'NF==3 && $2 ~ /[A-Z]/ {print $3}' | sort -u)

bad=$(printf '%s\n' "$so_syms" | grep -Ev "$linker_syms" | grep -v '^hearth_' | grep -v '^$')
if [ -n "$bad" ]; then
    echo "FAIL: $(basename "$so") exports $(printf '%s\n' "$bad" | wc -l) symbol(s) without the hearth_ prefix:"
    printf '  %s\n' $bad | head -50
    fail=1
fi
bad=$(printf '%s\n' "$a_syms" | grep -v '^hearth_' | grep -v '^$')
if [ -n "$bad" ]; then
    echo "FAIL: $(basename "$a") defines $(printf '%s\n' "$bad" | wc -l) global symbol(s) without the hearth_ prefix:"
    printf '  %s\n' $bad | head -50
    fail=1
fi

# the functions the public headers declare, from the compiler (-aux-info
# lists every prototype with the header it came from)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for h in "$inc"/hearth/*.h; do echo "#include \"hearth/$(basename "$h")\""; done > "$tmp/all.c"
if ! "$cc" -std=c11 -D_GNU_SOURCE -I"$inc" -aux-info "$tmp/decls.txt" -c "$tmp/all.c" -o "$tmp/all.o" 2> "$tmp/err.txt"; then
    echo "FAIL: the public headers do not compile on their own:"; cat "$tmp/err.txt"; exit 1
fi
declared=$(grep -F "$inc/hearth/" "$tmp/decls.txt" | grep -v '\bstatic\b' \
           | sed -E 's/\(\*[^)]*\)//g; s/^.*[ *]([A-Za-z_][A-Za-z0-9_]*) *\(.*$/\1/' | sort -u)
n=$(printf '%s\n' "$declared" | grep -c .)
[ "$n" -gt 50 ] || { echo "FAIL: found only $n declarations in the public headers (parser broken?)"; exit 1; }
missing_so=$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$so_syms"))
missing_a=$(comm -23 <(printf '%s\n' "$declared") <(printf '%s\n' "$a_syms"))
if [ -n "$missing_so" ]; then
    echo "FAIL: declared in include/hearth/ but not exported by $(basename "$so") (not between HEARTH_API_BEGIN/END, or not defined):"
    printf '  %s\n' $missing_so | head -50
    fail=1
fi
if [ -n "$missing_a" ] && [ "$missing_a" != "$missing_so" ]; then
    echo "FAIL: declared in include/hearth/ but not a global symbol of $(basename "$a"):"
    printf '  %s\n' $missing_a | head -50
    fail=1
fi
echo "$(printf '%s\n' "$so_syms" | grep -Ev "$linker_syms" | grep -c .) symbols exported by $(basename "$so"), $(printf '%s\n' "$a_syms" | grep -c .) global in $(basename "$a"), $n functions declared in the public headers"
[ $fail -eq 0 ] && echo "ok: every exported symbol is hearth_-prefixed and every public function is exported"
exit $fail
