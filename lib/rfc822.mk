# lib/rfc822.mk: build fragment (owned by the rfc822 module)
