// The signed-in session: a personal access token, kept in this tab's sessionStorage (gone when
// the tab closes, never in a URL or a cookie), and the one axios instance that sends it.
import axios from 'axios'
import { reactive } from 'vue'

const KEY = 'openkonnect.token'

export const session = reactive({
  token: sessionStorage.getItem(KEY) || '',
  user: null,
  // Why the last session ended, shown on the sign-in page ("sign in again").
  endedBecause: '',
})

export function signIn(token, user) {
  session.token = token
  session.user = user
  session.endedBecause = ''
  sessionStorage.setItem(KEY, token)
}

export function signOut(reason = '') {
  session.token = ''
  session.user = null
  session.endedBecause = reason
  sessionStorage.removeItem(KEY)
}

export function authHeaders() {
  return session.token ? { Authorization: `Bearer ${session.token}` } : {}
}

// For the console's own pages. Kong's entity components make their own axios instances from
// `axiosRequestConfig` (entityConfig() in entities.js), with the same header.
export const api = axios.create({ baseURL: '' })
api.interceptors.request.use((config) => {
  Object.assign(config.headers, authHeaders())
  return config
})
