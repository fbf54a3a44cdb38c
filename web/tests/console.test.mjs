// The console's acceptance scenario, in headless Chromium against the real server: sign in,
// control planes (create, rename, labels), a service, a route on it and a key-auth plugin
// through Kong's own forms, 250 routes paged through, every error class hit on purpose and its
// message seen, sign out. Each step leaves a screenshot in CONSOLE_ARTIFACTS (default
// web/test-artifacts). The page watch fails a step on any 4xx/5xx it did not cause on purpose
// and on any error in the page.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { launchBrowser, PageWatch, startServer, webDir } from './harness.mjs'

const artifacts = process.env.CONSOLE_ARTIFACTS || path.join(webDir, 'test-artifacts')
// Requests an hour per token: small enough to reach on purpose (and slow to refill, so the
// page's next request is refused too), large enough for each token's share of the scenario.
const TOKEN_BUDGET = 300

let server
let browser
let page
let watch
let shot = 0

before(async () => {
  fs.rmSync(artifacts, { recursive: true, force: true })
  fs.mkdirSync(artifacts, { recursive: true })
  server = await startServer({ tokenBudget: TOKEN_BUDGET })
  browser = await launchBrowser()
  page = await browser.newPage()
  await page.setViewport({ width: 1400, height: 1000 })
  page.setDefaultTimeout(15000)
  watch = new PageWatch(page)
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

// Runs one step of the scenario: its screenshot is taken whether it passes or not.
async function step(name, body) {
  shot += 1
  const file = path.join(artifacts, `${String(shot).padStart(2, '0')}-${name}.png`)
  const started = Date.now()
  try {
    await body()
    await settle()
    watch.check(name)
  } finally {
    await page.screenshot({ path: file, fullPage: true }).catch(() => {})
    console.log(`step ${name}: ${Date.now() - started} ms`)
  }
}

// Lets the page finish what the step started (requests, rendering).
async function settle() {
  await page.waitForNetworkIdle({ idleTime: 300, timeout: 10000 }).catch(() => {})
}

const sel = (id) => `[data-testid="${id}"]`

// Moves the app to `path` as its own links do, without reloading the page: a reload parses the
// whole bundle again, which is most of a step's time on a busy machine. (The router takes a
// popstate without state as a new location.) The first load and the 404 step load for real.
async function visit(path) {
  await page.evaluate((to) => {
    window.history.pushState(null, '', to)
    window.dispatchEvent(new PopStateEvent('popstate', { state: null }))
  }, path)
}

async function fill(testid, text) {
  const input = await page.waitForSelector(`input${sel(testid)}, ${sel(testid)} input`, { visible: true })
  await input.click({ clickCount: 3 })
  await page.keyboard.press('Backspace')
  await input.type(text)
}

async function click(testid) {
  const el = await page.waitForSelector(sel(testid), { visible: true })
  await el.click()
}

async function textOf(testid) {
  const el = await page.waitForSelector(sel(testid), { visible: true })
  return el.evaluate((e) => e.innerText)
}

async function waitForText(text) {
  await page.waitForFunction((t) => document.body.innerText.includes(t), {}, text)
}

async function signIn(token) {
  await visit(`/sign-in`)
  await fill('token-input', token)
  await click('sign-in-submit')
  await page.waitForSelector(sel('control-plane-table'))
}

async function signOut() {
  await click('sign-out')
  await page.waitForSelector(sel('token-input'))
}

// A user with no roles, and a personal access token made for them by the admin.
async function userWithoutRoles(email) {
  assert.equal((await server.api('POST', '/v3/invites', { body: { email } })).status, 201)
  const users = await server.api('GET', `/v3/users?filter[email][eq]=${encodeURIComponent(email)}`)
  const user = users.body.data[0]
  const pat = await server.api('POST', `/v3/users/${user.id}/access-tokens`, { body: { name: 'browser', ttl_seconds: 86400 } })
  assert.equal(pat.status, 201)
  return pat.body.konnect_token
}

let cpId
let serviceId

test('the console against the real server', async () => {
  await step('sign-in-page', async () => {
    await page.goto(`${server.base}/`)
    await page.waitForSelector(sel('token-input'))
    assert.match(page.url(), /\/sign-in/)
  })

  await step('401-unknown-token', async () => {
    watch.expect(401, /^\/v3\/users\/me$/)
    await fill('token-input', `kpat_${'x'.repeat(49)}`)
    await click('sign-in-submit')
    assert.match(await textOf('problem-unauthenticated'), /sign in again/i)
  })

  await step('signed-in', async () => {
    await signIn(server.token)
    assert.equal(await textOf('signed-in-as'), 'admin@acme.test')
    // The token is never in the address bar, and stays in this tab's session storage only.
    assert.ok(!page.url().includes(server.token))
    assert.equal(await page.evaluate(() => localStorage.length), 0)
  })

  await step('400-invalid-field', async () => {
    watch.expect(400, /^\/v2\/control-planes$/)
    // An empty name, and a label under a prefix Konnect reserves: each reason beside its field.
    await fill('cp-name', '')
    await fill('cp-labels', 'kong-owned=yes')
    await click('cp-create-submit')
    assert.match(await textOf('cp-name-error'), /\S/)
    assert.match(await textOf('cp-labels-error'), /\S/)
  })

  await step('control-plane-created', async () => {
    await fill('cp-name', 'prod')
    await fill('cp-labels', 'env=prod')
    await click('cp-create-submit')
    await page.waitForSelector(sel('cp-row-prod'))
    assert.match(await textOf('cp-row-prod'), /env=prod/)
  })

  await step('409-conflict', async () => {
    watch.expect(409, /^\/v2\/control-planes$/)
    await fill('cp-name', 'prod')
    await fill('cp-labels', '')
    await click('cp-create-submit')
    const body = await textOf('problem-conflict')
    assert.match(body, /prod|exists|already/i)
  })

  await step('control-plane-renamed', async () => {
    await click('cp-edit-prod')
    await fill('cp-edit-name', 'production')
    await fill('cp-edit-labels', 'env=prod, team=payments')
    await click('cp-edit-save')
    await page.waitForSelector(sel('cp-row-production'))
    assert.match(await textOf('cp-row-production'), /team=payments/)
    cpId = (await server.api('GET', '/v2/control-planes?filter[name][eq]=production')).body.data[0].id
  })

  await step('control-plane-deleted', async () => {
    await fill('cp-name', 'scratch')
    await fill('cp-labels', '')
    await click('cp-create-submit')
    await click('cp-delete-scratch')
    await click('cp-delete-confirm')
    await page.waitForFunction((s) => !document.querySelector(s), {}, sel('cp-row-scratch'))
    assert.equal((await server.api('GET', '/v2/control-planes?filter[name][eq]=scratch')).body.data.length, 0)
  })

  await step('services-empty', async () => {
    await click('cp-open-production')
    await page.waitForSelector(sel('list-services'))
  })

  await step('service-created', async () => {
    await visit(`/control-planes/${cpId}/services/create`)
    await fill('gateway-service-url-input', 'http://orders.internal:8080/v1')
    await click('collapse-trigger-content')
    await fill('gateway-service-name-input', 'orders')
    await click('service-create-form-submit')
    await page.waitForSelector(`${sel('list-services')} tr${sel('orders')}`)
    serviceId = (await server.api('GET', `/v2/control-planes/${cpId}/core-entities/services/orders`)).body.id
    assert.ok(serviceId)
  })

  await step('route-created', async () => {
    await visit(`/control-planes/${cpId}/routes/create`)
    await fill('route-form-name', 'orders-route')
    await click('route-form-service-id')
    await click(`select-item-${serviceId}`)
    await fill('route-form-paths-input-1', '/orders')
    await click('route-create-form-submit')
    await page.waitForSelector(`${sel('list-routes')} tr${sel('orders-route')}`)
    const route = (await server.api('GET', `/v2/control-planes/${cpId}/core-entities/routes/orders-route`)).body
    assert.equal(route.service.id, serviceId)
    assert.deepEqual(route.paths, ['/orders'])
  })

  await step('400-in-a-kong-form', async () => {
    // Kong's route form lets a path through that the server refuses: the field is named.
    watch.expect(400, new RegExp(`^/v2/control-planes/${cpId}/core-entities/routes$`))
    await visit(`/control-planes/${cpId}/routes/create`)
    await fill('route-form-name', 'bad-route')
    await fill('route-form-paths-input-1', '/a//b')
    await click('route-create-form-submit')
    assert.match(await textOf('problem-invalid'), /paths/)
  })

  await step('plugin-catalog', async () => {
    await visit(`/control-planes/${cpId}/plugins/select`)
    await click('key-auth-card')
    await page.waitForSelector(sel('plugin-create-form-submit'))
  })

  await step('key-auth-plugin-created', async () => {
    await click('plugin-create-form-submit')
    await page.waitForSelector(`${sel('list-plugins')} tr${sel('key-auth')}`)
    const plugins = (await server.api('GET', `/v2/control-planes/${cpId}/core-entities/plugins`)).body.data
    assert.deepEqual(plugins.map((p) => p.name), ['key-auth'])
  })

  await step('250-routes-paged', async () => {
    // Seeded through the API with a token of their own (the browser's budget is for the browser).
    const seeder = (await server.api('POST', `/v3/users/${(await server.api('GET', '/v3/users/me')).body.id}/access-tokens`,
      { body: { name: 'seeder', ttl_seconds: 86400 } })).body.konnect_token
    for (let i = 0; i < 250; i += 1) {
      const r = await server.api('POST', `/v2/control-planes/${cpId}/core-entities/routes`,
        { token: seeder, body: { name: `bulk-${String(i).padStart(3, '0')}`, paths: [`/bulk/${i}`] } })
      assert.equal(r.status, 201)
    }
    await visit(`/control-planes/${cpId}/routes`)
    // Kong's tables show a cached page at once and then revalidate it: the list this step
    // starts from was cached with one route, so wait for the fresh first page (many rows).
    await page.waitForFunction((s) => document.querySelectorAll(`${s} tbody tr[data-testid]`).length > 1, {}, sel('list-routes'))
    await settle()
    const seen = new Set()
    for (let pages = 0; pages < 50; pages += 1) {
      const names = await page.$$eval(`${sel('list-routes')} tbody tr[data-testid]`, (rows) => rows.map((r) => r.getAttribute('data-testid')))
      for (const n of names) seen.add(n)
      const next = await page.$(`${sel('list-routes')} ${sel('next-button')}`)
      if (!next || (await next.evaluate((b) => b.disabled || b.getAttribute('aria-disabled') === 'true'))) break
      const first = names[0]
      await next.click()
      await page.waitForFunction((s, f) => {
        const row = document.querySelector(`${s} tbody tr[data-testid]`)
        return row && row.getAttribute('data-testid') !== f
      }, {}, sel('list-routes'), first)
    }
    assert.equal(seen.size, 251, `routes seen across pages: ${seen.size}`)
  })

  // Every entity Kong's components show: its list, and its empty create form (which loads its
  // pickers: services, certificates, key sets …). Any request they make that fails fails here.
  for (const key of ['consumers', 'consumer-groups', 'upstreams', 'certificates', 'ca-certificates', 'snis', 'keys', 'key-sets', 'vaults',
    'services', 'routes', 'plugins']) {
    await step(`list-${key}`, async () => {
      await click(`nav-${key}`)
      await page.waitForSelector(sel(`list-${key}`))
      await settle()
      await visit(`/control-planes/${cpId}/${key === 'plugins' ? 'plugins/create/cors' : `${key}/create`}`)
      await page.waitForSelector(`${sel(`form-${key}`)} form`)
    })
  }

  await step('consumer-credential', async () => {
    const consumer = (await server.api('POST', `/v2/control-planes/${cpId}/core-entities/consumers`, { body: { username: 'alice' } })).body
    await visit(`/control-planes/${cpId}/consumers/${consumer.id}`)
    await click('credential-add-key-auth')
    await click('plugin-create-form-submit')
    await page.waitForSelector(`${sel('credentials-key-auth')} tr[data-testid^="credential-"]`)
    const keys = (await server.api('GET', `/v2/control-planes/${cpId}/core-entities/consumers/${consumer.id}/key-auth`)).body.data
    assert.equal(keys.length, 1)
  })

  await step('upstream-targets', async () => {
    const upstream = (await server.api('POST', `/v2/control-planes/${cpId}/core-entities/upstreams`, { body: { name: 'orders.upstream' } })).body
    assert.equal((await server.api('POST', `/v2/control-planes/${cpId}/core-entities/upstreams/${upstream.id}/targets`,
      { body: { target: '10.0.0.7:8080' } })).status, 201)
    await visit(`/control-planes/${cpId}/upstreams/${upstream.id}`)
    await page.waitForFunction((s) => document.querySelector(s)?.innerText.includes('10.0.0.7:8080'), {}, sel('list-targets'))
  })

  await step('data-plane-nodes', async () => {
    await click('nav-data-plane-nodes')
    await page.waitForSelector(sel('nodes-empty'))
  })

  await step('identity', async () => {
    await click('nav-identity')
    await fill('token-name', 'from-the-console')
    await click('token-create-submit')
    assert.match(await textOf('token-created'), /kpat_/)
    await click('token-delete-from-the-console')
    await page.waitForFunction((s) => !document.querySelector(s), {}, sel('token-row-from-the-console'))
    await visit(`/identity/users`)
    await page.waitForFunction((s) => document.querySelector(s)?.innerText.includes('admin@acme.test'), {}, sel('identity-users'))
  })

  await step('404-not-found', async () => {
    watch.expect(404, /^\/v2\/control-planes\/00000000-0000-4000-8000-000000000000$/)
    await page.goto(`${server.base}/control-planes/00000000-0000-4000-8000-000000000000/services`)
    assert.match(await textOf('problem-not-found'), /not found/i)
  })

  await step('signed-out', async () => {
    await signOut()
    await visit(`/control-planes`)
    await page.waitForSelector(sel('token-input'))
    assert.match(page.url(), /\/sign-in/)
  })

  const viewer = await userWithoutRoles('viewer@acme.test')

  await step('403-forbidden', async () => {
    await signIn(viewer)
    watch.expect(403, /^\/v2\/control-planes$/)
    await fill('cp-name', 'not-mine')
    await click('cp-create-submit')
    assert.match(await textOf('problem-forbidden'), /ask your organization admin/i)
  })

  await step('429-countdown', async () => {
    // Spend the rest of this token's budget, then ask once more from the page.
    let limited = false
    for (let i = 0; i <= TOKEN_BUDGET && !limited; i += 1) {
      limited = (await server.api('GET', '/v3/users/me', { token: viewer })).status === 429
    }
    assert.ok(limited, 'the token budget was never reached')
    watch.expect(429, /^\/v2\/control-planes$/)
    await fill('cp-name', 'too-many')
    await click('cp-create-submit')
    const first = await textOf('retry-countdown')
    const seconds = Number(first.match(/(\d+) s/)[1])
    assert.ok(seconds >= 1, first)
    await page.waitForFunction((s, n) => {
      const el = document.querySelector(s)
      return !el || Number(el.innerText.match(/(\d+) s/)?.[1]) < n
    }, { timeout: 5000 }, sel('retry-countdown'), seconds)
  })

  await step('401-session-ended', async () => {
    await signOut()
    // A token that works at sign-in, then is deleted by the admin while the page is open.
    const me = (await server.api('GET', '/v3/users/me')).body
    const pat = (await server.api('POST', `/v3/users/${me.id}/access-tokens`, { body: { name: 'short', ttl_seconds: 86400 } })).body
    await signIn(pat.konnect_token)
    assert.equal((await server.api('DELETE', `/v3/users/${me.id}/access-tokens/${pat.id}`)).status, 204)
    watch.expect(401, /^\/v2\/control-planes$/)
    await fill('cp-name', 'late')
    await click('cp-create-submit')
    assert.match(await textOf('problem-unauthenticated'), /sign in again/i)
    await click('sign-in-again')
    await page.waitForSelector(sel('token-input'))
    assert.match(await textOf('session-ended'), /sign in again/i)
  })
})
