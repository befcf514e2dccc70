"""The OS credential store (Windows Credential Manager, macOS Keychain, Secret Service) through `keyring`."""
