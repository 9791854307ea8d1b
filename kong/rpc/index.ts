/** Kong's side of the plugin-server socket: the RPC client, the HandleEvent/Step loop and Lua-style msgpack. */
export * from './client';
export * from './event';
export * from './lua-msgpack';
