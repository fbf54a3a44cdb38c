import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The console is served by openkonnect itself (serve --console-dir web/dist), from the same
// origin as the API: no proxy, no CORS, and a Content-Security-Policy of 'self'.
export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    // Kong's entity packages and Monaco make one chunk of about 8 MB (2 MB gzipped), loaded once
    // and then cached for good (hashed names, immutable): warn only beyond that.
    chunkSizeWarningLimit: 10000,
    sourcemap: false,
  },
  server: {
    // `npm run dev`: the API of a server on :8080 under the dev server's origin.
    proxy: { '/v2': 'http://127.0.0.1:8080', '/v3': 'http://127.0.0.1:8080' },
  },
})
