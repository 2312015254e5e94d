/** rtnetlink numbers both request builders use (linux/rtnetlink.h, linux/socket.h). */
export const AF_INET = 2;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RT_TABLE_MAIN = 254;
export const RT_SCOPE_UNIVERSE = 0;
export const RTN_UNICAST = 1;
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const ENODEV = 19;
