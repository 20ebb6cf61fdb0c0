import type { ApiError } from '@mailpage/contract';

/** Validation issues the service lists in `details.issues` (`{ path: "server.host", message }`). */
export function issuesOf(error: ApiError | null | undefined): { path: string; message: string }[] {
  const issues = error?.details?.['issues'];
  if (!Array.isArray(issues)) return [];
  return issues.filter((i): i is { path: string; message: string } => !!i && typeof i.path === 'string' && typeof i.message === 'string');
}

/**
 * Spreads an error over the fields of a form: each validation issue goes to the field its path names (through
 * `fieldOf`), a known code to the field it concerns; what concerns no field stays for the form as a whole.
 */
export function placeError<F extends string>(
  error: ApiError,
  fieldOf: (path: string) => F | null,
  byCode: Partial<Record<string, F>> = {},
): { fields: Partial<Record<F, string>>; form: string | null } {
  const fields: Partial<Record<F, string>> = {};
  const issues = issuesOf(error);
  let unplaced = false;
  for (const issue of issues) {
    const f = fieldOf(issue.path);
    if (f) fields[f] = fields[f] ? `${fields[f]} ${issue.message}` : issue.message;
    else unplaced = true;
  }
  const codeField = byCode[error.code];
  if (!issues.length && codeField) fields[codeField] = error.message;
  const placed = Object.keys(fields).length > 0;
  return { fields, form: !placed || unplaced ? error.message : null };
}
