"""Shell code: the prompt and switching functions of ``shell-init``, and quoted ``env`` lines.

The prompt function runs on every prompt, so in bash and zsh it starts no
process at all: it reads the plain-text state files (the ``active`` file,
line 1 of a token record, the protected markers, the nearest pin file and its trust
record, judged by ``state.find_pin``'s rule) with ``read`` and ``[[ -e ]]``
and takes the time from a builtin. The directories are baked in when the code
is generated, since finding them again would need a process, while
``UP42KEYS_CONFIG_DIR`` and ``UP42KEYS_CACHE_DIR`` still win at render time.

Everything a shell evaluates is quoted here, in one place, with quoting that
survives any value: the tokens and IDs come from a server, not from us.
"""

from __future__ import annotations

from collections.abc import Callable

from up42keys import environment, inputs, paths, rules, selection

SHELLS = ("bash", "zsh", "fish")
TOKEN_ENV = "UP42_TOKEN"  # noqa: S105 - the name of a variable, not a secret
EXPIRES_AT_ENV = "UP42_TOKEN_EXPIRES_AT"
# Set by the shell function around ``use --shell``: only it can change its shell's environment.
SHELL_FUNCTION_ENV = "UP42KEYS_SHELL_FUNCTION"


def fish_quote(value: str) -> str:
    """``value`` in fish's single quotes, where only backslash and quote are special."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def token_variables(
    label: str, project_id: str | None, token: str, expires_at: int
) -> dict[str, str]:
    """The variables ``env`` prints and ``exec`` sets for a target and its token.

    ``UP42KEYS_PROFILE`` pins nested ``up42keys`` calls to the same profile;
    for ``(environment)`` credentials there is no profile to pin.
    ``UP42_TOKEN_EXPIRES_AT`` (epoch seconds) lets prompts and scripts act on
    the expiry, as ``AWS_CREDENTIAL_EXPIRATION`` does for AWS.
    """
    variables = {TOKEN_ENV: token}
    if project_id is not None:
        variables[environment.PROJECT_ID_ENV] = project_id
    if label != environment.ENVIRONMENT_LABEL:
        variables[selection.PROFILE_ENV] = label
    variables[EXPIRES_AT_ENV] = str(expires_at)
    return variables


def env_lines(variables: dict[str, str], shell: str | None) -> str:
    """Lines that set ``variables`` when evaluated: fish syntax for fish, else POSIX."""
    if shell == "fish":
        lines = [f"set -gx {name} {fish_quote(value)}" for name, value in variables.items()]
    else:
        lines = [
            f"export {name}={rules.shell_quote(value, always=True)}"
            for name, value in variables.items()
        ]
    return "".join(line + "\n" for line in lines)


def init_code(shell: str) -> str:
    """The code ``shell-init`` prints for ``shell``, with today's directories baked in."""
    quote: Callable[[str], str]
    if shell == "fish":
        quote, template = fish_quote, _FISH
    else:
        quote = rules.shell_quote
        template = _POSIX.replace("@SHELL@", shell).replace("@NOW@", _NOW[shell])
        template = template.replace("@SETUP@", _SETUP[shell]).replace("@LOCAL@", _LOCAL[shell])
        template = template.replace("@READ@", _READ[shell])
    return (
        template.replace("@CONFIG_DIR@", quote(paths.default_config_dir()))
        .replace("@CACHE_DIR@", quote(paths.default_cache_dir()))
        .replace("@SHELL_FUNCTION_ENV@", SHELL_FUNCTION_ENV)
        .replace("@PIN_FILE@", paths.PIN_FILE)
        .replace("@ENVIRONMENT_LABEL@", environment.ENVIRONMENT_LABEL)
        .replace("@TRUSTED_PINS_DIR@", paths.TRUSTED_PINS_DIR)
        .replace("@READ_LIMIT@", str(inputs.PIN_LIMIT + 1))
        .replace("@PIN_LIMIT@", str(inputs.PIN_LIMIT))
        .replace("@MAX_NAME@", str(rules.MAX_NAME_LENGTH))
        .replace("@MAX_NAME_REST@", str(rules.MAX_NAME_LENGTH - 1))
    )


# bash >= 4.2 has printf's %(...)T; zsh has $EPOCHSECONDS from zsh/datetime. Neither forks.
_NOW = {
    "bash": "printf -v __up42keys_now '%(%s)T' -1",
    "zsh": "__up42keys_now=${EPOCHSECONDS-}",
}
_SETUP = {
    "bash": "",
    "zsh": "zmodload -F zsh/datetime p:EPOCHSECONDS 2>/dev/null\n"
    "zmodload -F zsh/system b:sysread 2>/dev/null\n",
}
# At most PIN_LIMIT + 1 bytes of a file into __up42keys_text; a CR (which no name holds) where
# the file is longer or holds a NUL. bash: read stops at a NUL (-d '') or after the limit with
# status 0, and only at the end of the file with 1. zsh: one read(2) of the limit, NULs kept.
_READ = {
    "bash": "IFS= read -r -d '' -n @READ_LIMIT@ __up42keys_text <\"$1\" 2>/dev/null &&\n"
    "        __up42keys_text=$'\\r'",
    "zsh": 'sysread -s @READ_LIMIT@ __up42keys_text <"$1" 2>/dev/null\n'
    "    case $? in (0|5) ;; (*) __up42keys_text=$'\\r' ;; esac",
}
# zsh: the user's options (KSH_ARRAYS, OCTAL_ZEROES, ...) must not change what these functions do.
_LOCAL = {"bash": "", "zsh": "    emulate -L zsh\n"}

_POSIX = r"""# up42keys shell integration for @SHELL@: eval "$(up42keys shell-init @SHELL@)"
@SETUP@__up42keys_config_dir=@CONFIG_DIR@
__up42keys_cache_dir=@CACHE_DIR@

# __up42keys_ps1 [-v VAR] [FORMAT [PROTECTED_FORMAT]]: the profile for the prompt, such as
# "up42:prod", "up42:prod!" (token expired or missing), "up42:prod[protected]" or
# "up42:(environment)"; nothing when no profile is active. With -v VAR it sets VAR instead of
# printing. Starts no process.
__up42keys_ps1() {
@LOCAL@    local __up42keys_var=
    if [[ ${1-} == -v ]]; then
        __up42keys_var=${2-}
        shift 2
    fi
    local __up42keys_config=${UP42KEYS_CONFIG_DIR:-$__up42keys_config_dir}
    local __up42keys_cache=${UP42KEYS_CACHE_DIR:-$__up42keys_cache_dir}
    local __up42keys_name=${UP42KEYS_PROFILE-} __up42keys_expiry= __up42keys_now=
    local __up42keys_format=${1:-${UP42KEYS_PS1_FORMAT:-up42:%s}} __up42keys_out=
    # The environment's credentials come before a pin file and the active profile, as in
    # commands (up42keys.environment): both variables set, with more than blanks.
    if [[ -z $__up42keys_name && -n ${UP42_PROJECT_ID//[[:space:]]/} &&
          -n ${UP42_PROJECT_API_KEY//[[:space:]]/} ]]; then
        printf -v __up42keys_out -- "$__up42keys_format" "@ENVIRONMENT_LABEL@"
    fi
    # The nearest @PIN_FILE@ in this directory or above, judged as commands judge it
    # (up42keys.state.find_pin): this user's regular file, not a symlink, holding one name
    # and at most a newline, trusted for that name. Any other is ignored, and shown.
    local __up42keys_dir=$PWD __up42keys_pin= __up42keys_text= __up42keys_ignored=
    while [[ -z $__up42keys_name$__up42keys_out ]]; do
        __up42keys_pin=$__up42keys_dir/@PIN_FILE@
        if [[ -e $__up42keys_pin || -L $__up42keys_pin ]]; then
            __up42keys_text=$'\r'
            if [[ -f $__up42keys_pin && ! -L $__up42keys_pin && -O $__up42keys_pin &&
                  -r $__up42keys_pin ]]; then
                __up42keys_read "$__up42keys_pin"
            fi
            __up42keys_text=${__up42keys_text%$'\n'}
            if [[ -n $__up42keys_text ]]; then
                if __up42keys_is_name "$__up42keys_text" &&
                   __up42keys_trusted "$__up42keys_config/@TRUSTED_PINS_DIR@$__up42keys_pin" \
                       "$__up42keys_text"; then
                    __up42keys_name=$__up42keys_text
                else
                    __up42keys_ignored=1
                fi
            fi
            break
        fi
        [[ -n $__up42keys_dir ]] || break
        __up42keys_dir=${__up42keys_dir%/*}
    done
    if [[ -z $__up42keys_name$__up42keys_out && -f $__up42keys_config/active ]]; then
        read -r __up42keys_name 2>/dev/null <"$__up42keys_config/active" || :
    fi
    if __up42keys_is_name "$__up42keys_name"; then
        if [[ -f $__up42keys_cache/tokens/$__up42keys_name ]]; then
            read -r __up42keys_expiry 2>/dev/null <"$__up42keys_cache/tokens/$__up42keys_name" || :
        fi
        @NOW@
        if [[ -e $__up42keys_config/protected/$__up42keys_name ]]; then
            __up42keys_format=${2:-${UP42KEYS_PS1_PROTECTED_FORMAT:-up42:%s[protected]}}
        fi
        if [[ -z $__up42keys_expiry || $__up42keys_expiry == *[!0-9]* ]] ||
           (( 10#$__up42keys_expiry <= 10#${__up42keys_now:-0} )); then
            __up42keys_name+=${UP42KEYS_PS1_EXPIRED-!}
        fi
        printf -v __up42keys_out -- "$__up42keys_format" "$__up42keys_name"
    fi
    if [[ -n $__up42keys_ignored ]]; then
        __up42keys_out=${__up42keys_out:+$__up42keys_out }${UP42KEYS_PS1_PIN_IGNORED-up42:!pin}
    fi
    if [[ -n $__up42keys_var ]]; then
        printf -v "$__up42keys_var" '%s' "$__up42keys_out"
    else
        printf '%s' "$__up42keys_out"
    fi
}

__up42keys_is_name() {
@LOCAL@    [[ -n ${1-} && ${#1} -le @MAX_NAME@ && $1 != [-.]* && $1 != *[!A-Za-z0-9._-]* ]]
}

# __up42keys_read FILE: see _READ in up42keys/ops/shell.py.
__up42keys_read() {
@LOCAL@    __up42keys_text=
    @READ@
    return 0
}

# __up42keys_trusted RECORD NAME: whether 'up42keys pin' recorded NAME as trusted there.
__up42keys_trusted() {
@LOCAL@    local __up42keys_text=
    [[ -f $1 && ! -L $1 ]] || return 1
    __up42keys_read "$1"
    [[ $__up42keys_text == "$2"$'\n' ]]
}

# "up42keys use --shell NAME" switches this shell only; "up42keys use --shell -" drops that.
# Everything else runs the real command.
up42keys() {
@LOCAL@    if [[ ${1-} == use ]]; then
        local __up42keys_arg __up42keys_shell= __up42keys_drop=
        for __up42keys_arg in "${@:2}"; do
            case $__up42keys_arg in
                --shell) __up42keys_shell=1 ;;
                -) __up42keys_drop=1 ;;
                -h|--help) __up42keys_shell= ; break ;;
            esac
        done
        if [[ -n $__up42keys_shell && -n $__up42keys_drop ]]; then
            unset UP42KEYS_PROFILE
            printf 'This shell no longer picks its own profile; here it uses ' >&2
            command up42keys current --explain >&2
            return 0
        fi
        if [[ -n $__up42keys_shell ]]; then
            local __up42keys_name
            __up42keys_name=$(@SHELL_FUNCTION_ENV@=1 command up42keys "$@") || return
            export UP42KEYS_PROFILE="$__up42keys_name"
            return 0
        fi
    fi
    command up42keys "$@"
}
"""

_FISH = r"""# up42keys shell integration for fish: up42keys shell-init fish | source
set -g __up42keys_config_dir @CONFIG_DIR@
set -g __up42keys_cache_dir @CACHE_DIR@

# __up42keys_ps1 [FORMAT [PROTECTED_FORMAT]]: the profile for the prompt, such as "up42:prod",
# "up42:prod!" (token expired or missing), "up42:prod[protected]" or "up42:(environment)";
# nothing when none is active.
function __up42keys_ps1 --description 'The up42keys profile, for the prompt'
    set -l config $__up42keys_config_dir
    test -n "$UP42KEYS_CONFIG_DIR"; and set config $UP42KEYS_CONFIG_DIR
    set -l cache $__up42keys_cache_dir
    test -n "$UP42KEYS_CACHE_DIR"; and set cache $UP42KEYS_CACHE_DIR
    set -l name $UP42KEYS_PROFILE
    # The environment's credentials come before a pin file and the active profile, as in
    # commands (up42keys.environment): both variables set, with more than blanks.
    if test -z "$name"; and string match -qr -- '\S' "$UP42_PROJECT_ID"
        and string match -qr -- '\S' "$UP42_PROJECT_API_KEY"
        set -l format up42:%s
        test -n "$UP42KEYS_PS1_FORMAT"; and set format $UP42KEYS_PS1_FORMAT
        test -n "$argv[1]"; and set format $argv[1]
        printf $format "@ENVIRONMENT_LABEL@"
        return
    end
    # The nearest @PIN_FILE@ in this directory or above, judged as commands judge it
    # (up42keys.state.find_pin). fish's read drops bytes that are not UTF-8, so the file's
    # size is compared with what was read: one wc, only where such a file is found.
    set -l dir $PWD
    set -l pin
    set -l text
    set -l size
    set -l held
    set -l ignored
    set -l pattern '^([A-Za-z0-9_][A-Za-z0-9._-]{0,@MAX_NAME_REST@})'
    while test -z "$name"
        set pin "$dir/@PIN_FILE@"
        if test -e "$pin"; or test -L "$pin"
            set text \r
            if test -f "$pin"; and not test -L "$pin"; and test -O "$pin"; and test -r "$pin"
                set size (command wc -c <"$pin" 2>/dev/null | string trim)
                if string match -qr -- '^[0-9]+\z' "$size"; and test "$size" -le @PIN_LIMIT@
                    set text (string split0 <"$pin")
                    if test (count $text) -gt 1; or test (string length -- "$text") -ne "$size"
                        set text \r
                    end
                end
            end
            if not string match -qr -- '^\n?\z' "$text"
                set text (string match -rg -- "$pattern\n?\z" "$text")
                set -l record "$config/@TRUSTED_PINS_DIR@$pin"
                if test -n "$text"; and test -f "$record"; and not test -L "$record"
                    and read -z held <"$record"; and test "$held" = "$text"\n
                    set name $text
                else
                    set ignored 1
                end
            end
            break
        end
        test -n "$dir"; or break
        set dir (string replace -r -- '/[^/]*$' '' $dir)
    end
    if test -z "$name"; and test -f $config/active
        read name <$config/active
    end
    set -l out
    if string match -qr -- "$pattern\z" "$name"
        set out (__up42keys_render $name $argv)
    end
    if set -q ignored[1]
        set -q UP42KEYS_PS1_PIN_IGNORED; or set -l UP42KEYS_PS1_PIN_IGNORED up42:!pin
        set out (string join ' ' -- $out $UP42KEYS_PS1_PIN_IGNORED)
    end
    printf '%s' $out
end

# __up42keys_render NAME [FORMAT [PROTECTED_FORMAT]]: the prompt for profile NAME.
function __up42keys_render
    set -l name $argv[1]
    set -e argv[1]
    set -l config $__up42keys_config_dir
    test -n "$UP42KEYS_CONFIG_DIR"; and set config $UP42KEYS_CONFIG_DIR
    set -l cache $__up42keys_cache_dir
    test -n "$UP42KEYS_CACHE_DIR"; and set cache $UP42KEYS_CACHE_DIR
    set -l format up42:%s
    test -n "$UP42KEYS_PS1_FORMAT"; and set format $UP42KEYS_PS1_FORMAT
    test -n "$argv[1]"; and set format $argv[1]
    if test -e $config/protected/$name
        set format 'up42:%s[protected]'
        test -n "$UP42KEYS_PS1_PROTECTED_FORMAT"; and set format $UP42KEYS_PS1_PROTECTED_FORMAT
        test -n "$argv[2]"; and set format $argv[2]
    end
    set -l expired !
    set -q UP42KEYS_PS1_EXPIRED; and set expired $UP42KEYS_PS1_EXPIRED
    set -l record $cache/tokens/$name
    set -l expiry
    test -f $record; and read expiry <$record
    if string match -qr -- '^[0-9]+$' "$expiry"
        set -l now
        if builtin -q path
            set now (math (path mtime -- $record) + (path mtime --relative -- $record))
        else
            set now (date +%s)
        end
        test "$expiry" -gt "$now"; or set name "$name$expired"
    else
        set name "$name$expired"
    end
    printf $format $name
end

# "up42keys use --shell NAME" switches this shell only; "up42keys use --shell -" drops that.
# Everything else runs the real command.
function up42keys --wraps up42keys --description 'up42keys, with use --shell for this shell'
    if test "$argv[1]" = use; and contains -- --shell $argv
        and not contains -- --help $argv; and not contains -- -h $argv
        if contains -- - $argv
            set -e -g UP42KEYS_PROFILE
            printf 'This shell no longer picks its own profile; here it uses ' >&2
            command up42keys current --explain >&2
            return 0
        end
        set -l name (@SHELL_FUNCTION_ENV@=1 command up42keys $argv); or return
        set -gx UP42KEYS_PROFILE $name
        return 0
    end
    command up42keys $argv
end
"""
