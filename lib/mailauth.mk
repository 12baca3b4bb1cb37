# lib/mailauth.mk: build fragment of the mail authentication modules (SPF,
# DKIM) and the public-key signatures they use.
