# lib/tls.mk: build fragment (owned by the tls module)
