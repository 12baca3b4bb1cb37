# lib/mime.mk: build fragment (owned by the mime module)
