// Ruby: installed gemspecs and Gemfile.lock.
export { gemfileLockCataloger, rubyGemspecCataloger } from "./ruby.js";
