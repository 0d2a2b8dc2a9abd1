import { defineConfig } from "vite";

// Served by api_service under /static/: relative asset URLs work there and under `vite preview`.
export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true },
  server: {
    proxy: {
      "/metrics": "http://localhost:8000",
      "/live-metrics": { target: "ws://localhost:8000", ws: true },
    },
  },
});
