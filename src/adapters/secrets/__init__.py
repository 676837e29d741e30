"""Encryption of secrets at rest: Fernet under the keys of WFA_SECRET_KEY or a key file."""
