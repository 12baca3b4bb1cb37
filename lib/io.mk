# lib/io.mk: build fragment (owned by the io module)
