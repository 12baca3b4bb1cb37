# lib/config.mk: build fragment (owned by the config module)
