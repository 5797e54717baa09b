// .NET: deps.json and NuGet packages.lock.json.
export { dotnetDepsCataloger, nugetLockCataloger } from "./dotnet.js";
