# swan.bash: bash completion for swan(1). Installed as
# share/bash-completion/completions/swan by `cmake --install`.
#
# Commands come from `swan --help` and each command's flags from `swan CMD --help`, so
# the completion never goes stale when a command or a flag is added. A flag whose
# value is a folder or file (DIR, FILE, OUT in its help line) completes paths.
_swan() {
    local cur prev swan cmd help flags meta
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    swan=${COMP_WORDS[0]}
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=($(compgen -W "$("$swan" --help 2>/dev/null |
            sed -n 's/^  swan \([a-z][a-z-]*\) .*/\1/p') --help --version" -- "$cur"))
        return 0
    fi
    cmd=${COMP_WORDS[1]}
    help=$("$swan" "$cmd" --help 2>/dev/null) || return 0
    if [[ $prev == -* ]]; then
        # The placeholder after the flag in its help line, e.g. "-o, --out DIR" -> DIR.
        meta=$(printf '%s\n' "$help" |
            sed -n "s/^ *\(-[a-zA-Z], \)\{0,1\}\(--[a-z0-9-]*\)\{0,1\} \{0,1\}\([A-Z][A-Z_|,:.]*\).*/\1\2 \3/p" |
            awk -v f="$prev" '{ for (i = 1; i < NF; i++) { g = $i; sub(/,$/, "", g); if (g == f) { print $NF; exit } } }')
        case $meta in
        "") ;;                                            # a flag without a value
        *DIR* | *OUT*) COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
        *FILE*) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
        *) COMPREPLY=(); return 0 ;;                      # a number, a list, an endpoint
        esac
    fi
    if [[ $cur == -* ]]; then
        flags=$(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u)
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return 0
    fi
    COMPREPLY=($(compgen -d -- "$cur")) # MODEL_DIR, DIR, OUT
}
complete -F _swan swan
