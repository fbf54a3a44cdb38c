// Control plane labels as the console's text field shows them: "env=prod, team=payments".
export function formatLabels(labels) {
  return Object.entries(labels || {}).map(([k, v]) => `${k}=${v}`).join(', ')
}

// Returns { labels } or { error } for text typed by the user; the server checks the rest
// (lengths, characters, reserved prefixes) and its 400 names the label that is wrong.
export function parseLabels(text) {
  const labels = {}
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=')
    if (eq <= 0) return { error: `"${part}" is not key=value` }
    labels[part.slice(0, eq).trim()] = part.slice(eq + 1).trim()
  }
  return { labels }
}
