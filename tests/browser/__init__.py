"""Browser tests: JupyterLab in Debian's headless Chromium, driven by Playwright."""
