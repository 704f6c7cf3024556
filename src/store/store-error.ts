/**
 * The ERR_STORE error every store module raises, and the errno text its messages carry. One copy, so the
 * append log and the data directory word a failed file operation the same way.
 */
import { StrongcastError } from '../errors.ts';

/** An ERR_STORE error with `message`, keeping `cause` (usually the failed fs call's error) when given. */
export function storeError(message: string, cause?: unknown): StrongcastError {
  return new StrongcastError('ERR_STORE', message, cause === undefined ? undefined : { cause });
}

/** The errno code of a failed fs call (`ENOENT`, `EACCES` ...), or the error as text when it has none. */
export function errnoOf(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}
