/*
 * services.c - what validation knows about AWS's vocabulary: the service
 * prefixes (to warn about "ecs2:RunTask"), the condition keys of the services
 * taskgate speaks for (ecs, iam, sts) and which actions carry them, and which
 * global keys hold several values.
 *
 * These tables feed warnings only, never errors and never decisions: AWS adds
 * services and keys every month, and a policy naming one we have not heard of
 * must still compile and evaluate exactly as written. A per-action list is
 * consulted only for actions it names; an action it does not know is given
 * the benefit of the doubt.
 */
#include <stdio.h>
#include <string.h>

#include "policy/policy_int.h"

/* Service prefixes of the Service Authorization Reference (lowercase). */
static const char *const services[] = {
    "a2c",
    "a4b",
    "access-analyzer",
    "account",
    "acm",
    "acm-pca",
    "activate",
    "aiops",
    "airflow",
    "amplify",
    "amplifybackend",
    "amplifyuibuilder",
    "aoss",
    "apigateway",
    "app-integrations",
    "appconfig",
    "appfabric",
    "appflow",
    "application-autoscaling",
    "application-cost-profiler",
    "application-signals",
    "applicationinsights",
    "appmesh",
    "appmesh-preview",
    "apprunner",
    "appstream",
    "appstudio",
    "appsync",
    "apptest",
    "aps",
    "arc-zonal-shift",
    "arsenal",
    "artifact",
    "athena",
    "auditmanager",
    "autoscaling",
    "autoscaling-plans",
    "aws-marketplace",
    "aws-marketplace-management",
    "aws-portal",
    "awsconnector",
    "b2bi",
    "backup",
    "backup-gateway",
    "backup-storage",
    "batch",
    "bcm-data-exports",
    "bcm-pricing-calculator",
    "bedrock",
    "billing",
    "billingconductor",
    "braket",
    "budgets",
    "bugbust",
    "cases",
    "cassandra",
    "ce",
    "chatbot",
    "chime",
    "cleanrooms",
    "cleanrooms-ml",
    "cloud9",
    "clouddirectory",
    "cloudformation",
    "cloudfront",
    "cloudfront-keyvaluestore",
    "cloudhsm",
    "cloudsearch",
    "cloudshell",
    "cloudtrail",
    "cloudtrail-data",
    "cloudwatch",
    "codeartifact",
    "codebuild",
    "codecatalyst",
    "codecommit",
    "codeconnections",
    "codedeploy",
    "codeguru",
    "codeguru-profiler",
    "codeguru-reviewer",
    "codeguru-security",
    "codepipeline",
    "codestar",
    "codestar-connections",
    "codestar-notifications",
    "codewhisperer",
    "cognito-identity",
    "cognito-idp",
    "cognito-sync",
    "comprehend",
    "comprehendmedical",
    "compute-optimizer",
    "config",
    "connect",
    "connect-campaigns",
    "consoleapp",
    "consolidatedbilling",
    "controlcatalog",
    "controltower",
    "cost-optimization-hub",
    "cur",
    "customer-verification",
    "databrew",
    "dataexchange",
    "datapipeline",
    "datasync",
    "datazone",
    "dax",
    "dbqms",
    "deadline",
    "deepcomposer",
    "deeplens",
    "deepracer",
    "detective",
    "devicefarm",
    "devops-guru",
    "directconnect",
    "discovery",
    "dlm",
    "dms",
    "docdb-elastic",
    "drs",
    "ds",
    "ds-data",
    "dsql",
    "dynamodb",
    "ebs",
    "ec2",
    "ec2-instance-connect",
    "ec2messages",
    "ecr",
    "ecr-public",
    "ecs",
    "eks",
    "eks-auth",
    "elasticache",
    "elasticbeanstalk",
    "elasticfilesystem",
    "elasticloadbalancing",
    "elasticmapreduce",
    "elastictranscoder",
    "elemental-activations",
    "elemental-appliances-software",
    "elemental-support-cases",
    "emr-containers",
    "emr-serverless",
    "entityresolution",
    "es",
    "events",
    "evidently",
    "execute-api",
    "finspace",
    "finspace-api",
    "firehose",
    "fis",
    "fms",
    "forecast",
    "frauddetector",
    "freertos",
    "freetier",
    "fsx",
    "gamelift",
    "gameliftstreams",
    "geo",
    "geo-maps",
    "geo-places",
    "geo-routes",
    "glacier",
    "globalaccelerator",
    "glue",
    "grafana",
    "greengrass",
    "groundstation",
    "groundtruthlabeling",
    "guardduty",
    "health",
    "healthlake",
    "iam",
    "identity-sync",
    "identitystore",
    "identitystore-auth",
    "imagebuilder",
    "importexport",
    "inspector",
    "inspector-scan",
    "inspector2",
    "internetmonitor",
    "invoicing",
    "iot",
    "iot-device-tester",
    "iotanalytics",
    "iotdeviceadvisor",
    "iotevents",
    "iotfleethub",
    "iotfleetwise",
    "iotjobsdata",
    "iotmanagedintegrations",
    "iotsitewise",
    "iottwinmaker",
    "iotwireless",
    "iq",
    "iq-permission",
    "ivs",
    "ivschat",
    "kafka",
    "kafka-cluster",
    "kafkaconnect",
    "kendra",
    "kendra-ranking",
    "kinesis",
    "kinesisanalytics",
    "kinesisvideo",
    "kms",
    "lakeformation",
    "lambda",
    "launchwizard",
    "lex",
    "license-manager",
    "license-manager-linux-subscriptions",
    "license-manager-user-subscriptions",
    "lightsail",
    "logs",
    "lookoutequipment",
    "lookoutmetrics",
    "lookoutvision",
    "m2",
    "machinelearning",
    "macie2",
    "managedblockchain",
    "managedblockchain-query",
    "mapcredits",
    "marketplacecommerceanalytics",
    "mechanicalturk",
    "mediaconnect",
    "mediaconvert",
    "mediaimport",
    "medialive",
    "mediapackage",
    "mediapackage-vod",
    "mediapackagev2",
    "mediastore",
    "mediatailor",
    "medical-imaging",
    "memorydb",
    "mgh",
    "mgn",
    "migrationhub-orchestrator",
    "migrationhub-strategy",
    "mobileanalytics",
    "monitron",
    "mq",
    "neptune-db",
    "neptune-graph",
    "network-firewall",
    "networkflowmonitor",
    "networkmanager",
    "networkmanager-chat",
    "networkmonitor",
    "nimble",
    "notifications",
    "notifications-contacts",
    "oam",
    "observabilityadmin",
    "omics",
    "one",
    "opsworks",
    "opsworks-cm",
    "organizations",
    "osis",
    "outposts",
    "panorama",
    "partnercentral",
    "partnercentral-account-management",
    "payment-cryptography",
    "payments",
    "pca-connector-ad",
    "pca-connector-scep",
    "pcs",
    "personalize",
    "pi",
    "pinpoint",
    "pipes",
    "polly",
    "pricing",
    "private-networks",
    "profile",
    "proton",
    "purchase-orders",
    "q",
    "qapps",
    "qbusiness",
    "qdeveloper",
    "qldb",
    "quicksight",
    "ram",
    "rbin",
    "rds",
    "rds-data",
    "rds-db",
    "redshift",
    "redshift-data",
    "redshift-serverless",
    "refactor-spaces",
    "rekognition",
    "repostspace",
    "resiliencehub",
    "resource-explorer-2",
    "resource-groups",
    "rhelkb",
    "robomaker",
    "rolesanywhere",
    "route53",
    "route53-recovery-cluster",
    "route53-recovery-control-config",
    "route53-recovery-readiness",
    "route53domains",
    "route53profiles",
    "route53resolver",
    "rum",
    "s3",
    "s3-object-lambda",
    "s3-outposts",
    "s3express",
    "s3tables",
    "sagemaker",
    "sagemaker-data-science-assistant",
    "sagemaker-geospatial",
    "sagemaker-groundtruth-synthetic",
    "sagemaker-mlflow",
    "savingsplans",
    "scheduler",
    "schemas",
    "scn",
    "sdb",
    "secretsmanager",
    "security-ir",
    "securityhub",
    "securitylake",
    "serverlessrepo",
    "servicecatalog",
    "servicediscovery",
    "serviceextract",
    "servicequotas",
    "ses",
    "shield",
    "signer",
    "signin",
    "simspaceweaver",
    "sms",
    "sms-voice",
    "snow-device-management",
    "snowball",
    "sns",
    "social-messaging",
    "sqlworkbench",
    "sqs",
    "ssm",
    "ssm-contacts",
    "ssm-guiconnect",
    "ssm-incidents",
    "ssm-quicksetup",
    "ssm-sap",
    "ssmmessages",
    "sso",
    "sso-directory",
    "sso-oauth",
    "states",
    "storagegateway",
    "sts",
    "support",
    "supportapp",
    "supportplans",
    "sustainability",
    "swf",
    "synthetics",
    "tag",
    "tax",
    "textract",
    "thinclient",
    "timestream",
    "timestream-influxdb",
    "tiros",
    "tnb",
    "transcribe",
    "transfer",
    "translate",
    "trustedadvisor",
    "ts",
    "user-subscriptions",
    "vendor-insights",
    "verifiedpermissions",
    "voiceid",
    "vpc-lattice",
    "vpc-lattice-svcs",
    "vpce",
    "waf",
    "waf-regional",
    "wafv2",
    "wam",
    "wellarchitected",
    "wickr",
    "wisdom",
    "workdocs",
    "worklink",
    "workmail",
    "workmailmessageflow",
    "workspaces",
    "workspaces-web",
    "xray",
};

bool pol_service_known(const char *p, size_t n)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		if (strlen(services[i]) != n)
			continue;
		size_t k = 0;
		while (k < n) {
			char c = p[k];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c + 32);
			if (c != services[i][k])
				break;
			k++;
		}
		if (k == n)
			return true;
	}
	return false;
}

/* ---- condition keys of ecs, iam and sts (lowercase) ---- */

struct svc_keys {
	const char *svc;         /* "ecs" */
	const char *const *keys; /* full keys, "ecs:cluster" */
	size_t nkeys;
	const char *tag_prefix; /* "ecs:resourcetag/" or NULL */
};

static const char *const ecs_keys[] = {
    "ecs:account-setting",
    "ecs:auto-assign-public-ip",
    "ecs:capacity-provider",
    "ecs:cluster",
    "ecs:compute-compatibility",
    "ecs:container-instances",
    "ecs:container-name",
    "ecs:createaction",
    "ecs:enable-ebs-volumes",
    "ecs:enable-execute-command",
    "ecs:enable-managed-tags",
    "ecs:enable-service-connect",
    "ecs:enable-vpc-lattice",
    "ecs:fargate-ephemeral-storage-kms-key",
    "ecs:namespace",
    "ecs:propagate-tags",
    "ecs:service",
    "ecs:subnet",
    "ecs:task",
    "ecs:task-cpu",
    "ecs:task-definition",
    "ecs:task-memory",
};

static const char *const iam_keys[] = {
    "iam:associatedresourcearn",
    "iam:awsservicename",
    "iam:fido-certification",
    "iam:fido-fips-140-2-certification",
    "iam:fido-fips-140-3-certification",
    "iam:organizationspolicyid",
    "iam:passedtoservice",
    "iam:permissionsboundary",
    "iam:policyarn",
    "iam:registersecuritykey",
    "iam:servicespecificcredentialagedays",
    "iam:servicespecificcredentialservicename",
};

static const char *const sts_keys[] = {
    "sts:awsservicename",        "sts:durationseconds",   "sts:externalid",
    "sts:identitytokenaudience", "sts:requestcontext",    "sts:requestcontextproviders",
    "sts:rolesessionname",       "sts:setcontext",        "sts:signingalgorithm",
    "sts:sourceidentity",        "sts:transitivetagkeys",
};

static const struct svc_keys svc_tables[] = {
    {"ecs", ecs_keys, sizeof(ecs_keys) / sizeof(ecs_keys[0]), "ecs:resourcetag/"},
    {"iam", iam_keys, sizeof(iam_keys) / sizeof(iam_keys[0]), "iam:resourcetag/"},
    {"sts", sts_keys, sizeof(sts_keys) / sizeof(sts_keys[0]), NULL},
};

/* Which service-specific keys an action carries (lowercase, space-separated
 * key names without the prefix). Only actions listed here are checked. */
struct action_keys {
	const char *action;
	const char *keys;
};

static const struct action_keys action_table[] = {
    {"ecs:runtask", "cluster capacity-provider enable-ebs-volumes enable-execute-command "
                    "enable-managed-tags propagate-tags task-definition compute-compatibility "
                    "task-cpu task-memory auto-assign-public-ip subnet "
                    "fargate-ephemeral-storage-kms-key"},
    {"ecs:starttask", "cluster container-instances enable-ebs-volumes enable-execute-command "
                      "enable-managed-tags propagate-tags task-definition"},
    {"ecs:stoptask", "cluster task"},
    {"ecs:describetasks", "cluster task"},
    {"ecs:listtasks", "cluster container-instances"},
    {"ecs:executecommand", "cluster container-name task"},
    {"ecs:createservice", "cluster capacity-provider enable-ebs-volumes enable-execute-command "
                          "enable-service-connect enable-vpc-lattice namespace task-definition "
                          "propagate-tags enable-managed-tags compute-compatibility "
                          "auto-assign-public-ip subnet fargate-ephemeral-storage-kms-key "
                          "task-cpu task-memory"},
    {"ecs:updateservice", "cluster capacity-provider enable-ebs-volumes enable-execute-command "
                          "enable-service-connect enable-vpc-lattice namespace service "
                          "task-definition propagate-tags enable-managed-tags "
                          "compute-compatibility auto-assign-public-ip subnet "
                          "fargate-ephemeral-storage-kms-key task-cpu task-memory"},
    {"ecs:deleteservice", "cluster service"},
    {"ecs:describeservices", "cluster service"},
    {"ecs:listservices", "cluster"},
    {"ecs:createcluster", "capacity-provider fargate-ephemeral-storage-kms-key"},
    {"ecs:updatecluster", "fargate-ephemeral-storage-kms-key"},
    {"ecs:deletecluster", ""},
    {"ecs:describeclusters", ""},
    {"ecs:listclusters", ""},
    {"ecs:registertaskdefinition", "task-cpu task-memory"},
    {"ecs:deregistertaskdefinition", ""},
    {"ecs:describetaskdefinition", ""},
    {"ecs:listtaskdefinitions", ""},
    {"ecs:listtaskdefinitionfamilies", ""},
    {"ecs:putaccountsetting", "account-setting"},
    {"ecs:putaccountsettingdefault", "account-setting"},
    {"ecs:deleteaccountsetting", "account-setting"},
    {"ecs:tagresource", "createaction"},
    {"ecs:untagresource", ""},
    {"ecs:listtagsforresource", ""},
    {"ecs:registercontainerinstance", "cluster"},
    {"ecs:deregistercontainerinstance", "cluster container-instances"},
    {"ecs:describecontainerinstances", "cluster container-instances"},
    {"ecs:listcontainerinstances", "cluster"},
    {"ecs:updatecontainerinstancesstate", "cluster container-instances"},
    {"ecs:updatecontaineragent", "cluster container-instances"},
    {"ecs:submittaskstatechange", "cluster"},
    {"ecs:submitcontainerstatechange", "cluster"},
    {"iam:passrole", "passedtoservice associatedresourcearn"},
    {"iam:attachrolepolicy", "policyarn permissionsboundary"},
    {"iam:attachuserpolicy", "policyarn permissionsboundary"},
    {"iam:attachgrouppolicy", "policyarn"},
    {"iam:detachrolepolicy", "policyarn permissionsboundary"},
    {"iam:detachuserpolicy", "policyarn permissionsboundary"},
    {"iam:detachgrouppolicy", "policyarn"},
    {"iam:createrole", "permissionsboundary"},
    {"iam:createuser", "permissionsboundary"},
    {"iam:putrolepolicy", "permissionsboundary"},
    {"iam:putuserpolicy", "permissionsboundary"},
    {"iam:deleterolepolicy", "permissionsboundary"},
    {"iam:deleteuserpolicy", "permissionsboundary"},
    {"iam:putrolepermissionsboundary", "permissionsboundary"},
    {"iam:putuserpermissionsboundary", "permissionsboundary"},
    {"iam:deleterolepermissionsboundary", "permissionsboundary"},
    {"iam:deleteuserpermissionsboundary", "permissionsboundary"},
    {"iam:createservicelinkedrole", "awsservicename"},
    {"iam:getrole", ""},
    {"iam:listroles", ""},
    {"sts:assumerole", "externalid rolesessionname sourceidentity transitivetagkeys "
                       "requestcontext requestcontextproviders"},
    {"sts:assumerolewithwebidentity", "rolesessionname sourceidentity"},
    {"sts:assumerolewithsaml", "sourceidentity"},
    {"sts:tagsession", "transitivetagkeys"},
    {"sts:setsourceidentity", "sourceidentity"},
    {"sts:setcontext", "requestcontext requestcontextproviders"},
    {"sts:getservicebearertoken", "awsservicename"},
    {"sts:getcalleridentity", ""},
    {"sts:getsessiontoken", ""},
    {"sts:getfederationtoken", "durationseconds"},
    {"sts:getwebidentitytoken", "identitytokenaudience signingalgorithm durationseconds"},
};

static bool has_word(const char *list, const char *w, size_t wn)
{
	const char *p = list;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) == wn && memcmp(p, w, wn) == 0)
			return true;
		p = e;
	}
	return false;
}

static const struct action_keys *action_entry(const char *a, size_t n)
{
	for (size_t i = 0; i < sizeof(action_table) / sizeof(action_table[0]); i++) {
		if (strlen(action_table[i].action) == n &&
		    memcmp(action_table[i].action, a, n) == 0)
			return &action_table[i];
	}
	return NULL;
}

bool pol_key_plausible(const char *key, size_t keyn, const struct pol_action *actions,
                       uint32_t nactions, bool not_action, char *why, size_t whyn)
{
	const char *colon = memchr(key, ':', keyn);
	if (colon == NULL)
		return true;
	size_t pn = (size_t)(colon - key);
	const struct svc_keys *t = NULL;
	for (size_t i = 0; i < sizeof(svc_tables) / sizeof(svc_tables[0]); i++) {
		if (strlen(svc_tables[i].svc) == pn && memcmp(svc_tables[i].svc, key, pn) == 0)
			t = &svc_tables[i];
	}
	if (t == NULL)
		return true; /* aws: keys go with every action; other services are not tabled */

	bool known = t->tag_prefix != NULL && keyn > strlen(t->tag_prefix) &&
	             memcmp(key, t->tag_prefix, strlen(t->tag_prefix)) == 0;
	for (size_t i = 0; i < t->nkeys && !known; i++)
		known = strlen(t->keys[i]) == keyn && memcmp(t->keys[i], key, keyn) == 0;
	if (!known) {
		int w = snprintf(why, whyn, "'%.*s' is not a condition key of the %s service",
		                 (int)(keyn > 100 ? 100 : keyn), key, t->svc);
		if (w < 0 && whyn > 0)
			why[0] = '\0';
		return false;
	}
	if (not_action)
		return true;
	/* Can any of the statement's actions be one of this service's? */
	bool any_svc = false, all_tabled = true, carried = false;
	const char *tag = t->tag_prefix;
	for (uint32_t i = 0; i < nactions; i++) {
		const struct pol_action *a = &actions[i];
		if (a->n == 1 && a->lower[0] == '*')
			return true;
		const char *ac = memchr(a->lower, ':', a->n);
		size_t apn = ac ? (size_t)(ac - a->lower) : a->n;
		if (!pol_glob(a->lower, apn, t->svc, strlen(t->svc), true, false))
			continue;
		any_svc = true;
		if (a->wild) {
			all_tabled = false;
			continue;
		}
		const struct action_keys *ak = action_entry(a->lower, a->n);
		if (ak == NULL) {
			all_tabled = false;
			continue;
		}
		bool is_tag =
		    tag != NULL && keyn > strlen(tag) && memcmp(key, tag, strlen(tag)) == 0;
		if (is_tag || has_word(ak->keys, key + pn + 1, keyn - pn - 1))
			carried = true;
	}
	if (!any_svc) {
		int w = snprintf(why, whyn,
		                 "'%.*s' is a key of the %s service, and no action of "
		                 "this statement is a %s action: the key is never present",
		                 (int)(keyn > 100 ? 100 : keyn), key, t->svc, t->svc);
		if (w < 0 && whyn > 0)
			why[0] = '\0';
		return false;
	}
	if (all_tabled && !carried) {
		int w = snprintf(why, whyn,
		                 "no action of this statement carries '%.*s': the key is "
		                 "never present in their requests",
		                 (int)(keyn > 100 ? 100 : keyn), key);
		if (w < 0 && whyn > 0)
			why[0] = '\0';
		return false;
	}
	return true;
}

/* ---- single- and multi-valued keys ---- */

static const char *const multi_keys[] = {
    "aws:tagkeys",           "aws:calledvia",
    "aws:principalorgpaths", "aws:principalservicenameslist",
    "aws:sourceorgpaths",    "aws:resourceorgpaths",
    "sts:transitivetagkeys", "ecs:container-instances",
};

bool pol_key_multivalued(const char *key, size_t n)
{
	for (size_t i = 0; i < sizeof(multi_keys) / sizeof(multi_keys[0]); i++) {
		if (strlen(multi_keys[i]) == n && memcmp(multi_keys[i], key, n) == 0)
			return true;
	}
	return false;
}

bool pol_key_single_valued(const char *key, size_t n)
{
	if (pol_key_multivalued(key, n))
		return false;
	/* Every other global key holds one value; so does every tag key. */
	if (n > 4 && memcmp(key, "aws:", 4) == 0)
		return true;
	const char *slash = memchr(key, '/', n);
	if (slash != NULL) {
		size_t pre = (size_t)(slash - key);
		static const char *const tagish[] = {":resourcetag", ":requesttag",
		                                     ":principaltag"};
		for (size_t i = 0; i < 3; i++) {
			size_t tl = strlen(tagish[i]);
			if (pre >= tl && memcmp(slash - tl, tagish[i], tl) == 0)
				return true;
		}
	}
	return false;
}
