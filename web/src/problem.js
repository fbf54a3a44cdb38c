// Turns an API failure (an axios error carrying an application/problem+json body) into what the
// console shows. One place decides the wording of every error class, as the API's error contract
// asks callers to handle them: 400 names the fields, 401 asks to sign in again, 403 to ask the
// organization's admin, 404 says not found, 409 repeats the server's sentence, 429 counts down.
export function describeProblem(error) {
  const response = error?.response
  if (!response) {
    return { status: 0, kind: 'network', title: 'No answer', message: 'The server did not answer. Check your connection and try again.', fields: [] }
  }
  const body = typeof response.data === 'object' && response.data !== null ? response.data : {}
  const detail = body.detail || body.message || ''
  const fields = Array.isArray(body.invalid_parameters)
    ? body.invalid_parameters.map((p) => ({ field: p.field, reason: p.reason || p.rule || 'is not valid' }))
    : []
  const status = response.status
  switch (status) {
    case 400:
      return { status, kind: 'invalid', title: 'Some fields are not valid', message: detail || 'The request is not valid.', fields }
    case 401:
      return { status, kind: 'unauthenticated', title: 'Sign in again', message: 'Your session is no longer valid: sign in again with a personal access token.', fields }
    case 403:
      return { status, kind: 'forbidden', title: 'Not allowed', message: 'You do not have permission to do this. Ask your organization admin for access.', fields }
    case 404:
      return { status, kind: 'not-found', title: 'Not found', message: 'Not found: it does not exist, or it was deleted.', fields }
    case 409:
      return { status, kind: 'conflict', title: 'Conflict', message: detail || 'The request conflicts with the current state.', fields }
    case 429: {
      const retryAfter = Math.max(1, parseInt(response.headers?.['retry-after'] ?? '1', 10) || 1)
      return { status, kind: 'rate-limited', title: 'Too many requests', message: 'Too many requests.', retryAfter, fields }
    }
    default:
      return {
        status,
        kind: 'server',
        title: 'Server error',
        message: `The server could not complete the request${body.instance ? ` (reference ${body.instance})` : ''}. Try again later.`,
        fields,
      }
  }
}
