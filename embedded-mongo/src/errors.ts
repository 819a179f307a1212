// MongoDB's error codes and the error type every command throws; the dispatcher turns it into `ok: 0` replies.

export const ErrorCode = {
  InternalError: 1,
  BadValue: 2,
  NoSuchKey: 4,
  FailedToParse: 9,
  Unauthorized: 13,
  TypeMismatch: 14,
  InvalidLength: 16,
  IllegalOperation: 20,
  NamespaceNotFound: 26,
  IndexNotFound: 27,
  PathNotViable: 28,
  ConflictingUpdateOperators: 40,
  CursorNotFound: 43,
  NamespaceExists: 48,
  CommandNotFound: 59,
  ImmutableField: 66,
  CannotCreateIndex: 67,
  EmptyFieldName: 56,
  InvalidOptions: 72,
  InvalidNamespace: 73,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
  CommandNotSupported: 115,
  CannotIndexParallelArrays: 171,
  NotImplemented: 238,
  UnsupportedOpQueryCommand: 352,
  Location40415: 40415,
  DuplicateKey: 11000,
  BSONObjectTooLarge: 10334,
  NotWritablePrimary: 10107,
} as const;

const codeNames: Record<number, string> = Object.fromEntries(
  Object.entries(ErrorCode).map(([name, code]) => [code, name]),
);

export function codeName(code: number): string {
  return codeNames[code] ?? `Location${code}`;
}

export class CommandError extends Error {
  readonly code: number;
  readonly extra: Record<string, unknown>;
  constructor(code: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.extra = extra;
  }

  /** The reply document of a failed command. */
  toReply(): Record<string, unknown> {
    const reply: Record<string, unknown> = { ok: 0, errmsg: this.message, code: this.code, codeName: codeName(this.code) };
    return { ...reply, ...this.extra };
  }

  /** The entry of a failed write in `writeErrors`. */
  toWriteError(index: number): Record<string, unknown> {
    return { index, code: this.code, errmsg: this.message, ...this.extra };
  }
}

export const fail = (code: number, message: string, extra?: Record<string, unknown>): never => {
  throw new CommandError(code, message, extra);
};

/** Turns anything thrown by a library (e.g. mingo rejecting a query) into a BadValue reply. */
export function asCommandError(err: unknown): CommandError {
  if (err instanceof CommandError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CommandError(ErrorCode.BadValue, message);
}
