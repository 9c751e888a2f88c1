#!/bin/sh
# web-assets.sh OUT FILE...: writes the assembly that compiles the web
# chat's files (web/) into natterd: each file's bytes (.incbin), and the
# table web.c serves them from, { name, data, length } a file and a zero
# row at the end.  Names are the files' base names; no network, no tool
# beyond the assembler.
set -eu
out=$1
shift
{
	echo '	.section .rodata'
	i=0
	for f in "$@"; do
		case $(basename "$f") in
		*[!A-Za-z0-9._-]*) echo "web-assets.sh: bad file name: $f" >&2
			exit 1;;
		esac
		echo "	.balign 16"
		echo "natter_web_$i:"
		echo "	.incbin \"$f\""
		echo "natter_web_${i}_end:"
		echo "	.byte 0"
		echo "natter_web_name_$i:"
		echo "	.asciz \"$(basename "$f")\""
		i=$((i + 1))
	done
	echo '	.section .data.rel.ro,"aw"'
	echo '	.balign 8'
	echo '	.globl web_assets'
	echo '	.type web_assets, @object'
	echo 'web_assets:'
	j=0
	while [ $j -lt $i ]; do
		echo "	.quad natter_web_name_$j, natter_web_$j, natter_web_${j}_end - natter_web_$j"
		j=$((j + 1))
	done
	echo '	.quad 0, 0, 0'
	echo '	.size web_assets, .-web_assets'
	echo '	.section .note.GNU-stack,"",@progbits'
} >"$out.tmp"
mv "$out.tmp" "$out"
