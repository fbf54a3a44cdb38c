// The real parts the console's browser test runs against: the openkonnect binary serving the
// built console (serve --console-dir web/dist) on a free port with a fresh SQLite database, and
// Debian's Chromium driven by puppeteer-core. Nothing is mocked.
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import puppeteer from 'puppeteer-core'

const here = path.dirname(fileURLToPath(import.meta.url))
export const webDir = path.resolve(here, '..')
const repo = path.resolve(webDir, '..')

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

// Starts a server; `tokenBudget` is the per-token rate limit (requests an hour), small enough
// for the test to reach a 429 on purpose.
export async function startServer({ tokenBudget }) {
  const bin = process.env.OPENKONNECT_BIN || path.join(repo, 'build', 'openkonnect')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openkonnect-console-'))
  const database = `sqlite:${path.join(dir, 'openkonnect.db')}`
  const org = JSON.parse(execFileSync(bin, ['org', 'create', '--database', database, '--name', 'Acme', '--admin-email', 'admin@acme.test']).toString())
  const port = await freePort()
  const log = fs.openSync(path.join(dir, 'server.log'), 'a')
  const proc = spawn(bin, ['serve', '--listen', `127.0.0.1:${port}`, '--database', database, '--cluster-listen', 'off',
    '--console-dir', path.join(webDir, 'dist'), '--audit-journal', path.join(dir, 'journal'),
    '--rate-limit-token', `${tokenBudget}/3600`, '--rate-limit-org', '1000000/60',
    '--rate-limit-auth-failures', '1000/60'], { stdio: ['ignore', log, log] })
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited: ${fs.readFileSync(path.join(dir, 'server.log'), 'utf8')}`)
    try {
      if ((await fetch(`${base}/healthz`)).ok) break
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error('server did not become healthy')
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    base,
    token: org.token,
    dir,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null) return resolve()
      proc.once('exit', resolve)
      proc.kill('SIGTERM')
    }),
    // The API directly, for set-up the scenario is not about (seeding 250 routes, a second user).
    async api(method, p, { token = org.token, body } = {}) {
      const r = await fetch(base + p, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      })
      const text = await r.text()
      return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null }
    },
  }
}

export async function launchBrowser() {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Root in a container needs --no-sandbox; the rest keep Chromium off the (closed) network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  })
}

// Watches a page for what the acceptance forbids: any 4xx/5xx answer the scenario did not ask
// for, and any error in the page (console.error, uncaught exceptions).
export class PageWatch {
  constructor(page) {
    this.expected = []
    this.unexpected = []
    this.seen = []
    page.on('response', (r) => {
      if (r.status() < 400) return
      const url = new URL(r.url())
      const entry = { status: r.status(), method: r.request().method(), path: url.pathname + url.search }
      const i = this.expected.findIndex((e) => e.status === entry.status && e.match.test(entry.path))
      if (i >= 0) {
        this.seen.push(entry)
        this.expected[i].hits += 1
      } else {
        this.unexpected.push(`HTTP ${entry.status} ${entry.method} ${entry.path}`)
      }
    })
    page.on('pageerror', (e) => this.unexpected.push(`page error: ${e.message}`))
    page.on('console', (m) => {
      if (m.type() !== 'error') return
      // Chromium logs every failed response once more as a console error; those are judged above.
      if (/^Failed to load resource: the server responded with a status of \d+/.test(m.text())) return
      this.unexpected.push(`console error: ${m.text()}`)
    })
  }

  // Allows answers with `status` on paths matching `match` until the step ends.
  expect(status, match) {
    const e = { status, match, hits: 0 }
    this.expected.push(e)
    return e
  }

  // Ends a step: fails on anything unexpected, and on an expected failure that never came.
  check(step) {
    const missing = this.expected.filter((e) => e.hits === 0).map((e) => `${e.status} ${e.match}`)
    const problems = [...this.unexpected]
    this.unexpected = []
    this.expected = []
    if (problems.length) throw new Error(`${step}: unexpected in the page:\n  ${problems.join('\n  ')}`)
    if (missing.length) throw new Error(`${step}: expected failures that did not happen: ${missing.join(', ')}`)
  }
}
