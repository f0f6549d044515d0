// What other packages may use of the api: its route table (the OpenAPI check compares it with openapi.json).
export { apiRoutes, type RouteInfo } from "./handlers.js";
