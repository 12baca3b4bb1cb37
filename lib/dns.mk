# lib/dns.mk: build fragment of the DNS resolver module (MX, A, AAAA, TXT
# lookups against a configurable server).
