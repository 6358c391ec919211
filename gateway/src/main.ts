// placeholder replaced by the gateway composition root
