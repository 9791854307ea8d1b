import type { RecordField } from '../dsl';
import { DISTANCE_METRICS, VECTORDB_STRATEGIES } from './enums';

/** `vectordb.redis`: Kong EE's shared Redis record (standalone, Sentinel or Cluster; 3.13+ cloud auth). */
export const REDIS = {
  type: 'record',
  autofill: true,
  fields: {
    cloud_authentication: {
      type: 'record',
      description: 'Cloud auth related configs for connecting to a Cloud Provider\'s Redis instance.',
      fields: {
        auth_provider: {
          type: 'string',
          one_of: ['aws', 'azure', 'gcp'],
          referenceable: true,
          description: 'Auth providers to be used to authenticate to a Cloud Provider\'s Redis instance.',
        },
        aws_access_key_id: {
          type: 'string',
          referenceable: true,
          encrypted: true,
          description: 'AWS Access Key ID to be used for authentication when `auth_provider` is set to `aws`.',
        },
        aws_assume_role_arn: {
          type: 'string',
          referenceable: true,
          encrypted: true,
          description: 'The ARN of the IAM role to assume for generating ElastiCache IAM authentication tokens.',
        },
        aws_cache_name: {
          type: 'string',
          referenceable: true,
          description: 'The name of the AWS Elasticache cluster when `auth_provider` is set to `aws`.',
        },
        aws_is_serverless: {
          type: 'boolean',
          default: true,
          description: 'This flag specifies whether the cluster is serverless when auth_provider is set to `aws`.',
        },
        aws_region: {
          type: 'string',
          referenceable: true,
          description: 'The region of the AWS ElastiCache cluster when `auth_provider` is set to `aws`.',
        },
        aws_role_session_name: {
          type: 'string',
          referenceable: true,
          encrypted: true,
          description: 'The session name for the temporary credentials when assuming the IAM role.',
        },
        aws_secret_access_key: {
          type: 'string',
          referenceable: true,
          encrypted: true,
          description: 'AWS Secret Access Key to be used for authentication when `auth_provider` is set to `aws`.',
        },
        azure_client_id: {
          type: 'string',
          referenceable: true,
          encrypted: true,
          description: 'Azure Client ID to be used for authentication when `auth_provider` is set to `azure`.',
        },
        azure_client_secret: {
          type: 'string',
          referenceable: true,
          encrypted: true,
          description: 'Azure Client Secret to be used for authentication when `auth_provider` is set to `azure`.',
        },
        azure_tenant_id: {
          type: 'string',
          referenceable: true,
          encrypted: true,
          description: 'Azure Tenant ID to be used for authentication when `auth_provider` is set to `azure`.',
        },
        gcp_service_account_json: {
          type: 'string',
          referenceable: true,
          encrypted: true,
          description: 'GCP Service Account JSON to be used for authentication when `auth_provider` is set to `gcp`.',
        },
      },
    },
    cluster_max_redirections: {
      type: 'integer',
      default: 5,
      description: 'Maximum retry attempts for redirection.',
    },
    cluster_nodes: {
      type: 'array',
      len_min: 1,
      description: 'Cluster addresses to use for Redis connections when the `redis` strategy is defined. Defining this field implies using a Redis Cluster. The minimum length of the array is 1 element.',
      elements: {
        type: 'record',
        fields: {
          ip: {
            type: 'string',
            default: '127.0.0.1',
            description: 'A string representing a host name, such as example.com.',
          },
          port: {
            type: 'integer',
            default: 6379,
            between: [0, 65535],
            description: 'An integer representing a port number between 0 and 65535, inclusive.',
          },
        },
      },
    },
    connect_timeout: {
      type: 'integer',
      default: 2000,
      between: [0, 2147483646],
      description: 'An integer representing a timeout in milliseconds. Must be between 0 and 2^31-2.',
    },
    connection_is_proxied: {
      type: 'boolean',
      default: false,
      description: 'If the connection to Redis is proxied (e.g. Envoy), set it `true`. Set the `host` and `port` to point to the proxy address.',
    },
    database: {
      type: 'integer',
      default: 0,
      description: 'Database to use for the Redis connection when using the `redis` strategy',
    },
    host: {
      type: 'string',
      default: '127.0.0.1',
      referenceable: true,
      description: 'A string representing a host name, such as example.com.',
    },
    keepalive_backlog: {
      type: 'integer',
      between: [0, 2147483646],
      description: 'Limits the total number of opened connections for a pool. If the connection pool is full, connection queues above the limit go into the backlog queue. If the backlog queue is full, subsequent connect operations fail and return `nil`. Queued operations (subject to set timeouts) resume once the number of connections in the pool is less than `keepalive_pool_size`. If latency is high or throughput is low, try increasing this value. Empirically, this value is larger than `keepalive_pool_size`.',
    },
    keepalive_pool_size: {
      type: 'integer',
      default: 256,
      between: [1, 2147483646],
      description: 'The size limit for every cosocket connection pool associated with every remote server, per worker process. If neither `keepalive_pool_size` nor `keepalive_backlog` is specified, no pool is created. If `keepalive_pool_size` isn\'t specified but `keepalive_backlog` is specified, then the pool uses the default value. Try to increase (e.g. 512) this value if latency is high or throughput is low.',
    },
    password: {
      type: 'string',
      referenceable: true,
      encrypted: true,
      description: 'Password to use for Redis connections. If undefined, no AUTH commands are sent to Redis.',
    },
    port: {
      type: 'integer',
      default: 6379,
      between: [0, 65535],
      referenceable: true,
      description: 'An integer representing a port number between 0 and 65535, inclusive.',
    },
    read_timeout: {
      type: 'integer',
      default: 2000,
      between: [0, 2147483646],
      description: 'An integer representing a timeout in milliseconds. Must be between 0 and 2^31-2.',
    },
    send_timeout: {
      type: 'integer',
      default: 2000,
      between: [0, 2147483646],
      description: 'An integer representing a timeout in milliseconds. Must be between 0 and 2^31-2.',
    },
    sentinel_master: {
      type: 'string',
      description: 'Sentinel master to use for Redis connections. Defining this value implies using Redis Sentinel.',
    },
    sentinel_nodes: {
      type: 'array',
      len_min: 1,
      description: 'Sentinel node addresses to use for Redis connections when the `redis` strategy is defined. Defining this field implies using a Redis Sentinel. The minimum length of the array is 1 element.',
      elements: {
        type: 'record',
        fields: {
          host: {
            type: 'string',
            default: '127.0.0.1',
            description: 'A string representing a host name, such as example.com.',
          },
          port: {
            type: 'integer',
            default: 6379,
            between: [0, 65535],
            description: 'An integer representing a port number between 0 and 65535, inclusive.',
          },
        },
      },
    },
    sentinel_password: {
      type: 'string',
      referenceable: true,
      encrypted: true,
      description: 'Sentinel password to authenticate with a Redis Sentinel instance. If undefined, no AUTH commands are sent to Redis Sentinels.',
    },
    sentinel_role: {
      type: 'string',
      one_of: ['any', 'master', 'slave'],
      description: 'Sentinel role to use for Redis connections when the `redis` strategy is defined. Defining this value implies using Redis Sentinel.',
    },
    sentinel_username: {
      type: 'string',
      referenceable: true,
      description: 'Sentinel username to authenticate with a Redis Sentinel instance. If undefined, ACL authentication won\'t be performed. This requires Redis v6.2.0+.',
    },
    server_name: {
      type: 'string',
      referenceable: true,
      description: 'A string representing an SNI (server name indication) value for TLS.',
    },
    ssl: {
      type: 'boolean',
      default: false,
      description: 'If set to true, uses SSL to connect to Redis.',
    },
    ssl_verify: {
      type: 'boolean',
      default: true,
      description: 'If set to true, verifies the validity of the server SSL certificate. If setting this parameter, also configure `lua_ssl_trusted_certificate` in `kong.conf` to specify the CA (or server) certificate used by your Redis server. You may also need to configure `lua_ssl_verify_depth` accordingly.',
    },
    username: {
      type: 'string',
      referenceable: true,
      description: 'Username to use for Redis connections. If undefined, ACL authentication won\'t be performed. This requires Redis v6.0.0+. To be compatible with Redis v5.x.y, you can set it to `default`.',
    },
  },
  // Kong 3.8/3.9 exported these deprecated keys (Kong EE shared redis schema); configs written for those
  // versions may still carry them.
  shorthand_fields: {
    timeout: {
      type: 'integer',
      translate: 'all_timeouts',
      description: 'Deprecated: sets connect_timeout, send_timeout and read_timeout at once (milliseconds).',
    },
    sentinel_addresses: {
      type: 'array',
      translate: 'sentinel_nodes',
      description: 'Deprecated: Sentinel addresses as "host:port" strings; use sentinel_nodes.',
    },
    cluster_addresses: {
      type: 'array',
      translate: 'cluster_nodes',
      description: 'Deprecated: Cluster addresses as "ip:port" strings; use cluster_nodes.',
    },
  },
} as const satisfies RecordField;

/** `vectordb.pgvector` (3.10+). */
export const PGVECTOR = {
  type: 'record',
  autofill: true,
  fields: {
    database: {
      type: 'string',
      default: 'kong-pgvector',
      description: 'the database of the pgvector database',
    },
    host: {
      type: 'string',
      default: '127.0.0.1',
      description: 'the host of the pgvector database',
    },
    password: {
      type: 'string',
      referenceable: true,
      encrypted: true,
      description: 'the password of the pgvector database',
    },
    port: {
      type: 'integer',
      default: 5432,
      description: 'the port of the pgvector database',
    },
    ssl: {
      type: 'boolean',
      default: false,
      description: 'whether to use ssl for the pgvector database',
    },
    ssl_cert: {
      type: 'string',
      description: 'the path of ssl cert to use for the pgvector database',
    },
    ssl_cert_key: {
      type: 'string',
      description: 'the path of ssl cert key to use for the pgvector database',
    },
    ssl_required: {
      type: 'boolean',
      default: false,
      description: 'whether ssl is required for the pgvector database',
    },
    ssl_verify: {
      type: 'boolean',
      default: true,
      description: 'whether to verify ssl for the pgvector database',
    },
    ssl_version: {
      type: 'string',
      default: 'tlsv1_2',
      one_of: ['any', 'tlsv1_2', 'tlsv1_3'],
      description: 'the ssl version to use for the pgvector database',
    },
    timeout: {
      type: 'number',
      default: 5000,
      description: 'the timeout of the pgvector database',
    },
    user: {
      type: 'string',
      default: 'postgres',
      referenceable: true,
      description: 'the user of the pgvector database',
    },
  },
} as const satisfies RecordField;

/** `config.vectordb`: where the `semantic` algorithm stores and searches target description vectors. */
export const VECTORDB = {
  type: 'record',
  fields: {
    dimensions: {
      type: 'integer',
      required: true,
      description: 'the desired dimensionality for the vectors',
    },
    distance_metric: {
      type: 'string',
      required: true,
      one_of: DISTANCE_METRICS,
      description: 'the distance metric to use for vector searches',
    },
    pgvector: PGVECTOR,
    redis: REDIS,
    strategy: {
      type: 'string',
      required: true,
      one_of: VECTORDB_STRATEGIES,
      description: 'which vector database driver to use',
    },
    threshold: {
      type: 'number',
      description: 'the default similarity threshold for accepting semantic search results (float). Higher threshold means more results are considered similar.',
    },
  },
} as const satisfies RecordField;
