import { flagsOf } from './parse.js';
import type { Command } from './spec.js';

interface Node {
  path: string;
  words: string[];
  valueFlags: string[];
  values: [flag: string, choices: readonly string[]][];
}

/** Every command path with what may follow it: subcommands, flags, and flag values. */
function nodes(root: Command): Node[] {
  const out: Node[] = [];
  const visit = (c: Command, path: string[]) => {
    const subs = (c.subcommands ?? []).filter((s) => !s.hidden);
    const flags = c.run ? Object.entries(flagsOf(c)) : [];
    const flagWords = flags.flatMap(([n, s]) => [`--${n}`, ...(s.short ? [`-${s.short}`] : [])]);
    const valueFlags = flags
      .filter(([, s]) => s.kind === 'value')
      .flatMap(([n, s]) => [`--${n}`, ...(s.short ? [`-${s.short}`] : [])]);
    const values = flags
      .filter(([, s]) => s.choices)
      .flatMap(([n, s]) => [
        [`--${n}`, s.choices!] as [string, readonly string[]],
        ...(s.short ? [[`-${s.short}`, s.choices!] as [string, readonly string[]]] : []),
      ]);
    const argChoices = (c.args ?? []).flatMap((a) => a.choices ?? []);
    out.push({
      path: path.join(' '),
      words: [...subs.map((s) => s.name), ...argChoices, ...flagWords],
      valueFlags,
      values,
    });
    for (const s of subs) visit(s, [...path, s.name]);
  };
  visit(root, []);
  return out;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Shell functions shared by bash and zsh: the command table as `case` statements. */
function tables(root: Command): string {
  const all = nodes(root);
  const words = all.map((n) => `    ${q(n.path)}) echo ${q(n.words.join(' '))} ;;`);
  const valueFlags = all.map((n) => `    ${q(n.path)}) echo ${q(n.valueFlags.join(' '))} ;;`);
  const values = all.flatMap((n) =>
    n.values.map(([f, v]) => `    ${q(`${n.path}|${f}`)}) echo ${q(v.join(' '))} ;;`),
  );
  return `_strand_words() {
  case "$1" in
${words.join('\n')}
  esac
}
_strand_value_flags() {
  case "$1" in
${valueFlags.join('\n')}
  esac
}
_strand_values() {
  case "$1|$2" in
${values.join('\n')}
    *) return 1 ;;
  esac
}
_strand_is_command() {
  case "$1" in
${all.map((n) => `    ${q(n.path)}) return 0 ;;`).join('\n')}
  esac
  return 1
}
# Prints the command path found in the words before the cursor, then what to offer:
# "values WORDS", "files" or "words WORDS".
_strand_offer() {
  local cmdpath="" w prev="" vf
  for w in "$@"; do
    case "$w" in
      -*) ;;
      *) if _strand_is_command "\${cmdpath:+$cmdpath }$w"; then cmdpath="\${cmdpath:+$cmdpath }$w"; fi ;;
    esac
    prev="$w"
  done
  if [ -n "$prev" ] && [ "\${prev#-}" != "$prev" ]; then
    if vf=$(_strand_values "$cmdpath" "$prev"); then echo "values $vf"; return; fi
    case " $(_strand_value_flags "$cmdpath") " in
      *" $prev "*) echo files; return ;;
    esac
  fi
  echo "words $(_strand_words "$cmdpath")"
}`;
}

/** `strand completion bash`: source it (`source <(strand completion bash)`). */
export function bashCompletion(root: Command): string {
  return `# bash completion for strand: source <(strand completion bash)
${tables(root)}
_strand() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" offer
  offer=$(_strand_offer "\${COMP_WORDS[@]:1:COMP_CWORD-1}")
  case "$offer" in
    files) COMPREPLY=($(compgen -f -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "\${offer#* }" -- "$cur")) ;;
  esac
}
complete -o default -F _strand strand
`;
}

/** `strand completion zsh`: source it after compinit (`source <(strand completion zsh)`). */
export function zshCompletion(root: Command): string {
  return `#compdef strand
# zsh completion for strand: source <(strand completion zsh)   (after compinit)
${tables(root)}
_strand() {
  local offer
  offer=$(_strand_offer "\${(@)words[2,CURRENT-1]}")
  case "$offer" in
    files) _files ;;
    *) compadd -- \${=offer#* } ;;
  esac
}
if (( $+functions[compdef] )); then compdef _strand strand; fi
`;
}
