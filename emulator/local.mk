# emulator/: daytona-emulator, a local Daytona-compatible API server. It
# shares only common/ with sandform.
