/*
 * docker_auth.h - registry credentials for the docker driver's image pulls
 * (docker_auth.c), shared with its tests only.
 *
 * The credentials are the host's, per registry host, in the docker CLI's
 * config.json form ({"auths": {"<registry>": {"auth": base64("user:pass")}}}),
 * as the ECS agent's ECS_ENGINE_AUTH_TYPE=dockercfg takes them. The file is
 * read again for every pull that needs it, so nothing secret stays in the
 * gateway's memory between pulls and a rotated password needs no restart.
 */
#ifndef TASKGATE_SCHED_DOCKER_AUTH_H
#define TASKGATE_SCHED_DOCKER_AUTH_H

#include <stddef.h>

#define DK_AUTH_FILE_MAX (1u << 20) /* bytes of a credentials file */
#define DK_DOCKER_HUB    "docker.io"
/* Docker Hub's key in config.json, and the serveraddress the CLI sends. */
#define DK_DOCKER_HUB_SERVER "https://index.docker.io/v1/"

/* The registry host of an image reference, by Docker's rules: the first
 * component before a '/' is a registry when it has a '.' or ':', is
 * "localhost" or has an upper-case letter; otherwise (and with no '/') the
 * image is on Docker Hub, DK_DOCKER_HUB. 0, or -1 when it does not fit. */
int dk_registry_host(const char *image, char *out, size_t cap);

/* The registry a config.json key names ("https://reg.example.com/v1/",
 * "reg.example.com:5000"): scheme and path dropped, lower case, Docker Hub's
 * names as DK_DOCKER_HUB. 0, or -1 when it does not fit. */
int dk_registry_key_host(const char *key, char *out, size_t cap);

/* The X-Registry-Auth value the Engine API takes: base64url of
 * {"username","password","serveraddress"}, or of {"identitytoken",
 * "serveraddress"} when identitytoken is not NULL. A new string the caller
 * wipes and frees (dk_auth_free); NULL when out of memory. */
char *dk_auth_encode(const char *username, const char *password, const char *identitytoken,
                     const char *serveraddress);

/* Reads the credentials file (which must be a regular file of this user or
 * root, with no group or other permission bits) and, when image is not
 * NULL, makes the X-Registry-Auth value for its registry into *out (NULL
 * when the file has no credentials for it). With image NULL it only checks
 * the file, as the driver does at open. 0, or -1 with err, which never holds
 * a credential. */
int dk_auth_for_image(const char *path, const char *image, char **out, char *err, size_t cap);

/* Wipes and frees what dk_auth_encode or dk_auth_for_image made; NULL-safe. */
void dk_auth_free(char *s);

#endif
