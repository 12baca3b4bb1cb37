# setup/local.mk: instance setup tools
