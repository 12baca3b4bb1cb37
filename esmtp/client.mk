# esmtp/client.mk: build fragment of the outbound ESMTP client: the
# courierd transport module "esmtp" and its tests.
