# maildrop/tools.mk: build fragment of the message tools that come with
# maildrop (reformail, makemime) and their tests.
