// Text placed inside a regular expression as itself.

/** `text` with every character a RegExp gives a meaning to escaped. */
export const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
