# lib/sasl.mk: build fragment (owned by the sasl module)
