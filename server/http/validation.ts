/**
 * Validation problems as people read them: each names the field it is about. zod 4 reports a body
 * that matches no branch of a union as one `invalid_union` issue at the body itself ("(body): Invalid
 * input"); its `errors` hold each branch's own issues, and they say which field is missing or wrong.
 */

export interface Issue {
  path: PropertyKey[];
  message: string;
  code?: string;
  /** For `invalid_union`: the issues of each branch, their paths relative to the union. */
  errors?: Issue[][];
}

export interface Problem {
  path: string;
  message: string;
}

const MISSING = /received undefined$/;
const at = (path: PropertyKey[]) => path.map(String).join('.') || '(body)';

function isMissing(issue: Issue): boolean {
  return issue.code === 'invalid_type' && MISSING.test(issue.message);
}

function flatten(issue: Issue, prefix: PropertyKey[]): Problem[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0) return describeUnion(issue.errors, path);
  if (isMissing(issue)) return [{ path: at(path), message: 'is required' }];
  return [{ path: at(path), message: issue.message }];
}

/**
 * The problems of a union no branch accepted: when each branch lacks just one required field, which
 * one of them is required; otherwise the problems of the branch that came closest (fewest problems).
 */
function describeUnion(branches: Issue[][], path: PropertyKey[]): Problem[] {
  const flat = branches.map((issues) => issues.flatMap((i) => flatten(i, path)));
  const missingOne = branches.every((issues) => issues.length >= 1 && issues.some(isMissing));
  if (missingOne) {
    const fields = [...new Set(branches.flatMap((issues) => issues.filter(isMissing).map((i) => at([...path, ...i.path]))))];
    if (fields.length > 1) {
      const others = [...new Set(flat.flat().filter((p) => p.message !== 'is required').map((p) => `${p.path}: ${p.message}`))];
      const which = `${fields.slice(0, -1).join(', ')} or ${fields.at(-1)}`;
      return [
        { path: at(path), message: `one of ${which} is required` },
        ...others.map((o) => ({ path: o.slice(0, o.indexOf(': ')), message: o.slice(o.indexOf(': ') + 2) })),
      ];
    }
  }
  const closest = flat.reduce((best, p) => (p.length < best.length ? p : best), flat[0] ?? []);
  return closest.length > 0 ? closest : [{ path: at(path), message: 'matches none of the accepted forms' }];
}

/**
 * @example
 * describeIssues(result.error.issues) // [{ path: '(body)', message: 'one of fileKey, file_key or video_url is required' }]
 */
export function describeIssues(issues: ReadonlyArray<Issue>): Problem[] {
  const seen = new Set<string>();
  return issues.flatMap((i) => flatten(i, [])).filter((p) => {
    const key = `${p.path}\u0000${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
