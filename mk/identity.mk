BACKEND_LIBS_identity := -levent_openssl -lssl
