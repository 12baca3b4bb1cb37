# lib/maildir.mk: build fragment (owned by the maildir module)
