// NIOSSL exposes no CRL API. Its BoringSSL is linked into every executable with the symbol prefix
// CNIOBoringSSL_, so the few functions needed are declared here against that prefix; the types
// stay opaque. The gateway passes the SSL_CTX of each NIOSSLContext it makes, before any
// connection uses it.
#include "BoringSSLRevocation.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct x509_store_st X509_STORE;
typedef struct X509_crl_st X509_CRL;

extern X509_STORE *CNIOBoringSSL_SSL_CTX_get_cert_store(const SSL_CTX *ctx);
extern int CNIOBoringSSL_X509_STORE_add_crl(X509_STORE *store, X509_CRL *crl);
extern int CNIOBoringSSL_X509_STORE_set_flags(X509_STORE *store, unsigned long flags);
extern X509_CRL *CNIOBoringSSL_d2i_X509_CRL(X509_CRL **out, const uint8_t **inp, long len);
extern void CNIOBoringSSL_X509_CRL_free(X509_CRL *crl);

// X509_V_FLAG_CRL_CHECK in BoringSSL's x509.h: check the leaf certificate against its CRL.
#define CRM_X509_V_FLAG_CRL_CHECK 0x4

int crm_ssl_ctx_add_crl(void *ssl_ctx, const uint8_t *der, size_t length) {
    X509_STORE *store = CNIOBoringSSL_SSL_CTX_get_cert_store((const SSL_CTX *)ssl_ctx);
    if (store == NULL || length > 0x7fffffff) return 0;
    const uint8_t *cursor = der;
    X509_CRL *crl = CNIOBoringSSL_d2i_X509_CRL(NULL, &cursor, (long)length);
    if (crl == NULL) return 0;
    // The store takes its own reference.
    int added = CNIOBoringSSL_X509_STORE_add_crl(store, crl);
    CNIOBoringSSL_X509_CRL_free(crl);
    return added;
}

int crm_ssl_ctx_check_crls(void *ssl_ctx) {
    X509_STORE *store = CNIOBoringSSL_SSL_CTX_get_cert_store((const SSL_CTX *)ssl_ctx);
    if (store == NULL) return 0;
    return CNIOBoringSSL_X509_STORE_set_flags(store, CRM_X509_V_FLAG_CRL_CHECK);
}
