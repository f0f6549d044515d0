// The moderation rules, in one place: each rule looks at the text and returns the reasons it refuses
// it (none = fine). A text is allowed when no rule has a reason.

export interface Verdict {
  allowed: boolean;
  /** One line per refusal, `<rule>: <detail>`, in rule order. */
  reasons: string[];
}

export interface Rule {
  /** Stable name: the prefix of its reasons and the name of its X-Ray subsegment. */
  name: string;
  check(text: string): string[];
}

/** Words that are never allowed (matched as whole words, any case, after Unicode compatibility folding). */
export const BLOCKED_WORDS: readonly string[] = ["casino", "viagra", "lottery", "jackpot", "crypto-doubler"];
/** More links than this in one text is link spam. */
export const MAX_LINKS = 2;
/** A character repeated more than this many times in a row is refused ("soooooooo"); whitespace is not counted. */
export const MAX_RUN = 7;

function fold(text: string): string {
  return text.normalize("NFKC").toLowerCase();
}

const WORD = /[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu;

export const wordList: Rule = {
  name: "word_list",
  check(text) {
    const blocked = new Set(BLOCKED_WORDS);
    const found = new Set((fold(text).match(WORD) ?? []).filter((w) => blocked.has(w)));
    return [...found].map((w) => `word_list: "${w}" is not allowed`);
  },
};

const LINK = /\b(?:https?:\/\/|www\.)[^\s]+/giu;

export const linkSpam: Rule = {
  name: "link_spam",
  check(text) {
    const links = text.match(LINK)?.length ?? 0;
    return links > MAX_LINKS ? [`link_spam: ${links} links (at most ${MAX_LINKS})`] : [];
  },
};

// The same non-space character MAX_RUN + 1 or more times in a row (code points, so emoji count once).
const RUN = new RegExp(`(\\S)\\1{${MAX_RUN},}`, "gu");

export const repeatedCharacters: Rule = {
  name: "repeated_characters",
  check(text) {
    const longest = new Map<string, number>();
    for (const match of text.matchAll(RUN)) {
      const ch = match[1]!;
      const length = [...match[0]].length;
      longest.set(ch, Math.max(length, longest.get(ch) ?? 0));
    }
    return [...longest].map(([ch, n]) => `repeated_characters: "${ch}" ${n} times in a row (at most ${MAX_RUN})`);
  },
};

export const RULES: readonly Rule[] = [wordList, linkSpam, repeatedCharacters];

/** Runs every rule; `each` (optional) wraps every rule's run, e.g. in a subsegment. */
export function moderate(text: string, each: (rule: Rule, run: () => string[]) => string[] = (_rule, run) => run()): Verdict {
  const reasons = RULES.flatMap((rule) => each(rule, () => rule.check(text)));
  return { allowed: reasons.length === 0, reasons };
}
