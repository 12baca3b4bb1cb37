# imap/search.mk: build fragment of the IMAP search, sort and thread code
# (SEARCH, ESEARCH, SORT, THREAD), added to libimap.
